#!/usr/bin/env bash
# The report as a browser shows it. A short weft train run writes its
# report.html; every plot must hold one point per record of metrics.jsonl;
# headless Chromium renders the page from the file system to a PNG, which
# must be a page of plots (the SVGs loaded and drew), not a blank or an error
# page. Without Chromium it prints "skipped: no chromium" and exits 77, which
# ctest counts as skipped (CI installs no browser; see README, "Run reports").
# WEFT_BROWSER names the browser to use instead (none: skip).
#   check_report_page.sh WEFT_BINARY WORK_DIR
set -euo pipefail
weft=$1
work=$2

browser=${WEFT_BROWSER:-}
if [ -z "$browser" ]; then
  for name in chromium chromium-browser google-chrome; do
    if command -v "$name" > /dev/null 2>&1; then
      browser=$name
      break
    fi
  done
fi
if [ -z "$browser" ] || [ "$browser" = none ]; then
  echo "skipped: no chromium (apt-get install chromium, then ctest -L report)"
  exit 77
fi

here=$(cd "$(dirname "$0")" && pwd)
fail() {
  echo "FAILED: $*" >&2
  exit 1
}

rm -rf "$work"
mkdir -p "$work"
cd "$work"
# Its own corpus: tests never read shared data.
for i in $(seq 1 300); do echo "the cat sat on the mat, and the dog on log $i."; done > corpus.txt
"$weft" prepare --input corpus.txt --tokenizer char --out data > /dev/null
"$weft" train --model.preset tiny-gpt --data.dataset data --data.batch_size 8 --data.seq_len 16 \
  --train.steps 12 --optim.warmup 3 --train.eval_every 4 --train.sample_every 0 \
  --train.checkpoint_every 0 \
  --log.every 1 --log.progress none --train.out run

# One point per record.
train_records=$(grep -c '"event":"train"' run/metrics.jsonl)
eval_records=$(grep -c '"event":"eval"' run/metrics.jsonl)
points() {  # SVG file, series name -> the number of x,y pairs of its polyline
  grep -o "data-series=\"$2\"[^>]*points=\"[^\"]*\"" "run/report/$1" | sed 's/.*points="//; s/"$//' |
    wc -w
}
expect_points() {  # file series count
  local got
  got=$(points "$1" "$2")
  [ "$got" -eq "$3" ] || fail "$1: series '$2' has $got points, metrics.jsonl records $3"
  echo "$1: '$2' has $got points"
}
[ "$train_records" -eq 12 ] && [ "$eval_records" -eq 3 ] ||
  fail "the run recorded $train_records steps and $eval_records evaluations, expected 12 and 3"
expect_points loss_steps.svg train "$train_records"
expect_points loss_steps.svg validation "$eval_records"
expect_points loss_tokens.svg train "$train_records"
expect_points loss_tokens.svg validation "$eval_records"
expect_points learning_rate.svg "learning rate" "$train_records"
expect_points grad_norm.svg "gradient norm" "$train_records"
expect_points throughput.svg "tokens/s" "$train_records"
expect_points mfu.svg MFU "$train_records"
! grep -q "<script" run/report.html || fail "report.html holds a script"

# The page as Chromium renders it from the file system.
shot=$work/report.png
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$work/profile" --window-size=1340,1000 --screenshot="$shot" \
  "file://$work/run/report.html" > "$work/chromium.log" 2>&1 ||
  fail "$browser exited $? (log: $work/chromium.log)"
[ -s "$shot" ] || fail "no screenshot written (log: $work/chromium.log)"
bytes=$(stat -c %s "$shot")
[ "$bytes" -gt 20000 ] || fail "the screenshot is $bytes bytes: a blank page?"
if command -v python3 > /dev/null 2>&1; then
  read -r width height colours non_white plot_pixels < <(python3 "$here/png_summary.py" "$shot")
  echo "screenshot: ${width}x${height}, $colours colours, non-white share $non_white," \
    "$plot_pixels pixels of the first plot colour"
  [ "$width" -eq 1340 ] && [ "$height" -eq 1000 ] || fail "screenshot is ${width}x${height}"
  [ "$colours" -ge 50 ] || fail "the screenshot has $colours colours: no text or plots drawn"
  awk -v s="$non_white" 'BEGIN { exit !(s > 0.02) }' || fail "the screenshot is nearly all white"
  [ "$plot_pixels" -ge 500 ] || fail "no plot line in the screenshot: did the SVGs load?"
fi
echo "report page rendered: $shot ($bytes bytes)"
