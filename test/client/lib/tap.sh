# shellcheck shell=bash
# test/client/lib/tap.sh -- sourced by the client tests: TAP output and psql
# as the postgres OS user against the suite's server (PGHOST, PGPORT).
# Needs WORK (a scratch directory the postgres user can enter) and ABT_BIN.

T=0
FAILED=0
ok() { T=$((T + 1)); echo "ok $T - $*"; }
not_ok() { T=$((T + 1)); FAILED=$((FAILED + 1)); echo "not ok $T - $*"; }
# check DESCRIPTION CMD...: ok when CMD succeeds
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# is GOT EXPECTED DESCRIPTION
is() {
    if [ "$1" = "$2" ]; then
        ok "$3"
    else
        not_ok "$3"
        printf '#   got:      %s\n#   expected: %s\n' "${1:0:2000}" "${2:0:2000}"
    fi
}
# same_file DESCRIPTION GOT EXPECTED: the two files are equal (diff if not)
same_file() {
    if cmp -s "$2" "$3"; then
        ok "$1"
    else
        not_ok "$1"
        diff "$3" "$2" | head -n 30 | cut -c 1-300 | sed 's/^/#   /'
    fi
}
diag() { printf '# %s\n' "$@"; }
bail() { echo "Bail out! $*"; exit 1; }
# finish: the plan line, and the exit status
finish() { echo "1..$T"; [ "$FAILED" -eq 0 ]; }

as_pg() { (cd "$WORK" && runuser -u postgres -- env LC_ALL=C.UTF-8 "$@"); }
# q DB SQL: one statement's unaligned result
q() { as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
