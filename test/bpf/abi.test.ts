// test/bpf/abi.test.ts — the TypeScript codecs against the BTF of the compiled data path: a layout or
// enum drift between bpf/include/xvs_abi.h and src/datapath/abi.ts fails here (and stops xvsd at start).
import t from 'tap';
import { existsSync } from 'node:fs';
import { checkLayouts, REASONS } from '../../src/datapath/abi.js';
import { native, bpfObjectPath } from '../../src/datapath/native.js';

const obj = bpfObjectPath('xvs');

t.test('every struct of xvs_abi.h matches its TypeScript layout', { skip: !existsSync(obj) && 'bpf/xvs.o not built' }, async (t) => {
  t.same(checkLayouts((s) => native.btfStructLayout(obj, s)), []);
});

t.test('enum xvs_reason matches REASONS', { skip: !existsSync(obj) && 'bpf/xvs.o not built' }, async (t) => {
  const e = native.btfEnum(obj, 'xvs_reason');
  t.same(Object.fromEntries(REASONS.map((r, i) => [r, i])), Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'XVS_R_MAX')));
  t.equal(e.XVS_R_MAX, REASONS.length);
});
