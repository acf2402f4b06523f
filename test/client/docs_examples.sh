#!/usr/bin/env bash
# test/client/docs_examples.sh -- the documentation shows what the tests
# produce, its links resolve, and README.md stays a first page.
#
#  - Output in the documents (README.md, CONTRIBUTING.md, docs/*.md,
#    bench/README.md) is marked: a fenced block right after
#      <!-- test: NAME -->          is an excerpt of expected/NAME.out
#                                   (consecutive lines of it);
#      <!-- test: NAME (whole) -->  together with the other blocks of the
#                                   same file so marked, in order, is
#                                   expected/NAME.out itself.
#    Lines compare without trailing white space, and blank lines are left
#    out (pg_regress's blank line after each result). The README's example
#    is test/sql/readme_example.sql this way; the regression suite holds the
#    .out equal to what the .sql produces, this test holds the README equal
#    to the .out.
#  - Every relative link of those documents names a file or directory that
#    exists, and a #anchor names a heading of the target (GitHub's rule: lower
#    case, punctuation dropped, spaces to hyphens, -1, -2 ... for repeats).
#  - README.md (issue 19): install, CREATE EXTENSION abtest, an abt_assign
#    answer and a results query with its output within its first 120 lines;
#    no section (heading to heading, any level) over 150 lines; at most 400
#    lines in all.
# Needs no server: it reads the checkout.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
WORK=$(mktemp -d "${ABT_TMP:-/tmp}/docs_examples.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
. test/client/lib/tap.sh
trap 'rm -rf -- "$WORK"' EXIT
export LC_ALL=C

DOCS=(README.md CONTRIBUTING.md docs/*.md bench/README.md)

# show: stdin as TAP comment lines
show() { sed 's/^/#   /'; }
# norm FILE: without trailing white space and without blank lines
norm() { sed -e 's/[[:space:]]*$//' "$1" | grep -v '^$'; }

# ------------------------------------------------------------ marked blocks
# blocks DOC: writes each marked block to $WORK/blocks/N and prints
# "N LINE NAME MODE" (MODE: excerpt or whole) per block; a marker that no
# fence follows is printed with N = -1.
mkdir -p "$WORK/blocks"
n_blocks=0
blocks() {
    awk -v dir="$WORK/blocks" -v start="$n_blocks" '
        function fence(l) { return l ~ /^[ \t]*```/ }
        want != "" && !inblock {
            if (!fence($0)) { print -1, mline, want, mode; want = ""; next }
            n++; file = dir "/" (start + n); inblock = 1
            indent = $0; sub(/```.*/, "", indent)
            print start + n, mline, want, mode
            printf "" > file
            next
        }
        inblock {
            if (fence($0)) { inblock = 0; want = ""; close(file); next }
            l = $0
            if (indent != "" && index(l, indent) == 1) l = substr(l, length(indent) + 1)
            print l >> file
            next
        }
        /^[ \t]*<!-- test: [A-Za-z0-9_]+( \(whole\))? -->[ \t]*$/ {
            want = $0; sub(/^[ \t]*<!-- test: /, "", want); sub(/ .*/, "", want)
            mode = ($0 ~ /\(whole\)/) ? "whole" : "excerpt"; mline = NR
        }' "$1"
}

# is_excerpt BLOCK FILE: the block's lines occur, consecutively, in FILE
is_excerpt() {
    awk 'NR == FNR { b[++nb] = $0; next }
         { f[++nf] = $0 }
         END {
             for (i = 1; i + nb - 1 <= nf; i++) {
                 for (j = 1; j <= nb && f[i + j - 1] == b[j]; j++) ;
                 if (j > nb) exit 0
             }
             exit 1
         }' <(norm "$1") <(norm "$2")
}

whole_seen=
for doc in "${DOCS[@]}"; do
    [ -f "$doc" ] || continue
    declare -A whole_parts=()
    while read -r num line name mode; do
        if [ "$num" -lt 0 ]; then
            not_ok "$doc:$line: a fenced block follows the marker for $name"
            continue
        fi
        n_blocks=$num
        out=expected/$name.out
        if [ ! -f "$out" ] || [ ! -f "test/sql/$name.sql" ]; then
            not_ok "$doc:$line: $name is a regression test (test/sql/$name.sql, $out)"
            continue
        fi
        if [ "$mode" = whole ]; then
            whole_parts[$name]+="$WORK/blocks/$num "
        elif is_excerpt "$WORK/blocks/$num" "$out"; then
            ok "$doc:$line: the block is output of $name ($out)"
        else
            not_ok "$doc:$line: the block is output of $name ($out)"
            diag "the block, which $out does not hold in this order:"
            norm "$WORK/blocks/$num" | head -n 20 | show
        fi
    done < <(blocks "$doc")
    for name in "${!whole_parts[@]}"; do
        # shellcheck disable=SC2086 # the list of block files
        cat ${whole_parts[$name]} >"$WORK/whole"
        if diff <(norm "$WORK/whole") <(norm "expected/$name.out") >"$WORK/diff"; then
            ok "$doc: its blocks of $name are expected/$name.out, whole"
        else
            not_ok "$doc: its blocks of $name are expected/$name.out, whole"
            diag "diff (< $doc, > expected/$name.out):"
            head -n 40 "$WORK/diff" | show
        fi
        [ "$doc:$name" = README.md:readme_example ] && whole_seen=1
    done
    unset whole_parts
done
check "README.md shows test/sql/readme_example.sql and its output, marked (whole)" \
    test -n "$whole_seen"

# -------------------------------------------------------------------- links
# headings DOC: "LINE LEVEL SLUG" of each heading outside fenced blocks
headings() {
    awk '/^[ \t]*```/ { code = !code; next }
         !code && /^#+ / {
             level = $0; sub(/ .*/, "", level)
             s = tolower($0); sub(/^#+ +/, "", s); sub(/[ \t]+$/, "", s)
             gsub(/[!-,.\/:-@[-^`{-~]/, "", s); gsub(/ /, "-", s)
             if (seen[s]++) s = s "-" (seen[s] - 1)
             print NR, length(level), s
         }' "$1"
}
# links DOC: "LINE TARGET" of each link outside fenced blocks
links() {
    awk '/^[ \t]*```/ { code = !code; next }
         !code {
             l = $0
             while (match(l, /\]\([^) \t]+\)/)) {
                 print NR, substr(l, RSTART + 2, RLENGTH - 3)
                 l = substr(l, RSTART + RLENGTH)
             }
         }' "$1"
}

bad_links=0
n_links=0
for doc in "${DOCS[@]}"; do
    [ -f "$doc" ] || continue
    while read -r line target; do
        case $target in http://* | https://* | mailto:*) continue ;; esac
        n_links=$((n_links + 1))
        path=${target%%#*}
        anchor=
        [ "$path" != "$target" ] && anchor=${target#*#}
        if [ -z "$path" ]; then
            file=$doc
        else
            file=$(dirname "$doc")/$path
        fi
        if [ ! -e "$file" ]; then
            not_ok "$doc:$line: the link $target names an existing file"
            bad_links=$((bad_links + 1))
        elif [ -n "$anchor" ] && ! headings "$file" | awk -v a="$anchor" '$3 == a { f = 1 } END { exit !f }'; then
            not_ok "$doc:$line: the link $target names a heading of $file"
            bad_links=$((bad_links + 1))
        fi
    done < <(links "$doc")
done
is "$bad_links" 0 "every relative link of the documents resolves ($n_links links)"

# ---------------------------------------------------------- README's shape
first() { grep -n -m1 -E -e "$1" README.md | cut -d: -f1; }
within() { # DESCRIPTION LINE
    if [ -n "$2" ] && [ "$2" -le 120 ]; then
        ok "README.md: $1 within the first 120 lines (line $2)"
    else
        not_ok "README.md: $1 within the first 120 lines (line ${2:-none})"
    fi
}
within "make install" "$(first '^make .*install')"
within "CREATE EXTENSION abtest" "$(first '^CREATE EXTENSION abtest;')"
assign=$(first '^SELECT .*abt_assign\(')
within "an abt_assign call" "$assign"
answer=$(awk -v from="${assign:-0}" 'NR > from && /"enrolled": /{ print NR; exit }' README.md)
within "its answer" "$answer"
results=$(first 'abt_(variant|metric)_stats\(')
within "a results query" "$results"
within "its output" "$(awk -v from="${results:-0}" 'NR > from && /^\([0-9]+ rows?\)$/ { print NR; exit }' README.md)"

longest=$(headings README.md | awk -v total="$(wc -l <README.md)" '
    { if (NR > 1 && $1 - prev > max) { max = $1 - prev; at = prev } prev = $1 }
    END { if (total + 1 - prev > max) { max = total + 1 - prev; at = prev } print max, at }')
read -r longest_len longest_at <<<"$longest"
if [ "$longest_len" -le 150 ]; then
    ok "README.md: no section over 150 lines (the longest: $longest_len, at line $longest_at)"
else
    not_ok "README.md: no section over 150 lines (line $longest_at: $longest_len)"
fi
total=$(wc -l <README.md)
if [ "$total" -le 400 ]; then
    ok "README.md: a first page, $total lines"
else
    not_ok "README.md: a first page of at most 400 lines ($total)"
fi

finish
