#!/usr/bin/env bash
# scripts/test.sh — runs the whole suite (unit, BPF, end to end) with node-tap and ends with the line
# CI reads: `N passed, N failed` (counts of test assertions as tap reports them; skipped ones are listed).
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Files run two at a time (2 vCPUs); namespace tests use unique prefixes so they can overlap.
npx --no-install tap --disable-coverage --jobs=2 --timeout=600 --reporter=tap \
  'test/unit/**/*.test.ts' 'test/bpf/**/*.test.ts' 'test/e2e/**/*.test.ts' "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
summary=$(grep -E '^# \{ total: [0-9]+' "$out" | tail -1)
total=$(sed -nE 's/.*total: ([0-9]+).*/\1/p' <<<"$summary")
pass=$(sed -nE 's/.*pass: ([0-9]+).*/\1/p' <<<"$summary")
fail=$(sed -nE 's/.*fail: ([0-9]+).*/\1/p' <<<"$summary")
skip=$(sed -nE 's/.*skip: ([0-9]+).*/\1/p' <<<"$summary")
total=${total:-0}; pass=${pass:-0}; fail=${fail:-0}; skip=${skip:-0}
# tap exits non-zero on any failure; make sure a crash without a summary also counts as a failure.
if [[ $status -ne 0 && $fail -eq 0 ]]; then fail=1; fi
if [[ $total -eq 0 ]]; then fail=$((fail == 0 ? 1 : fail)); fi
if [[ $skip -gt 0 ]]; then echo "$pass passed, $fail failed, $skip skipped"; else echo "$pass passed, $fail failed"; fi
[[ $fail -eq 0 ]]
