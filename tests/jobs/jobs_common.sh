# Shared by the job-script tests; sourced after tests/pipeline/pipeline_common.sh (for $bin).
# The exit status of ranks that checkpointed and stopped on a signal: the program's named constant
# where it has one (issue 10 item 6), else the 1 of any failure.
stopped_status=1
exit_status_h=$CLIPMTL_SRCDIR/include/clipmtl/exit_status.h
[ ! -f "$exit_status_h" ] || stopped_status=$(sed -n 's/^#define CM_EXIT_STOPPED \([0-9]*\).*/\1/p' "$exit_status_h")
# The tests resume with more steps than the stopped run had; a program that refuses a changed
# configuration on resume (issue 10 item 5) accepts it with this flag.
allow_change=$("$bin" run --help 2>&1 | grep -o -e --allow-config-change | head -n 1) || true
