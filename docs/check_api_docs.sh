#!/bin/sh
# docs/check_api_docs.sh - the test api_docs: builds the API reference and
# checks that it is complete.
#
#   check_api_docs.sh DOXYGEN DOXYFILE HTML_DIR INCLUDE_DIR
#
# Fails when Doxygen warns (the Doxyfile sets WARN_AS_ERROR), when a function
# the headers name is missing from the reference's function index (Doxygen
# does not warn about the members of a header without a @file comment: it
# leaves them out), or when a function's entry lacks its "Errors" or
# "Thread-safety" section.
set -eu

if [ $# -ne 4 ]; then
    echo "usage: $0 DOXYGEN DOXYFILE HTML_DIR INCLUDE_DIR" >&2
    exit 2
fi
doxygen=$1 doxyfile=$2 html=$3 include=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$doxygen" "$doxyfile" >"$tmp/log" 2>&1 || { cat "$tmp/log"; echo "FAIL: doxygen warned or failed"; exit 1; }
if grep -q . "$tmp/log"; then
    cat "$tmp/log"
    echo "FAIL: doxygen printed warnings"
    exit 1
fi

# Every rpc_*( the headers mention, declared or named in a comment.
grep -ho 'rpc_[a-z_]*(' "$include"/*.h | tr -d '(' | sort -u >"$tmp/headers"
# Every function in the reference's index of functions.
sed 's/<[^>]*>/ /g' "$html/globals_func.html" | grep -o 'rpc_[a-z_]*()' | tr -d '()' |
    sort -u >"$tmp/index"
missing=$(comm -23 "$tmp/headers" "$tmp/index")
if [ -n "$missing" ]; then
    echo "FAIL: in the headers but not in the reference:" $missing
    exit 1
fi

# Each function's entry (from its title to the next) has both sections.
awk '
    /<h2 class="memtitle">/ { check(); name = ""; errors = 0; threads = 0
                              if (match($0, /rpc_[a-z_]*\(\)/)) name = substr($0, RSTART, RLENGTH) }
    /<dt>Errors<\/dt>/ { errors = 1 }
    /<dt>Thread-safety<\/dt>/ { threads = 1 }
    function check() {
        if (name == "") return
        seen++
        if (!errors) { print "FAIL: " name " has no Errors section"; bad = 1 }
        if (!threads) { print "FAIL: " name " has no Thread-safety section"; bad = 1 }
    }
    END { check(); print seen " function entries checked"; exit bad }
' "$html"/group__*.html >"$tmp/sections" || { cat "$tmp/sections"; exit 1; }

echo "api_docs: no warnings; $(wc -l <"$tmp/index") functions in the index," \
     "$(wc -l <"$tmp/headers") named in the headers; $(tail -n 1 "$tmp/sections")"
