# shellcheck shell=bash
# examples/dashboard/lib.sh -- sourced by examples/dashboard/run and
# test/client/dashboard.sh: the dashboard's npm packages, installed with
# `npm ci` from the committed package-lock.json into a cache directory
# outside the checkout, one per lockfile and mode, reused while the lockfile
# does not change.
#
#   dashboard_modules prod|dev   installs (once) and prints the directory
#                                holding node_modules: prod without the
#                                test's puppeteer-core, dev with it
# Env: ABT_DASHBOARD_CACHE (default /var/cache/abtest when writable, else
#      ${XDG_CACHE_HOME:-~/.cache}/abtest).  No browser is ever downloaded
#      (PUPPETEER_SKIP_DOWNLOAD): the test uses Debian's chromium.

DASHBOARD_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

dashboard_modules() {
    local mode=$1 base key dir omit=()
    if [ -n "${ABT_DASHBOARD_CACHE:-}" ]; then
        base=$ABT_DASHBOARD_CACHE
    elif mkdir -p /var/cache/abtest 2>/dev/null && [ -w /var/cache/abtest ]; then
        base=/var/cache/abtest
    else
        base=${XDG_CACHE_HOME:-$HOME/.cache}/abtest
    fi
    key=$(cat "$DASHBOARD_DIR/package.json" "$DASHBOARD_DIR/package-lock.json" | sha256sum | cut -c 1-12)
    dir=$base/dashboard-$mode-$key
    if [ -f "$dir/.installed" ]; then echo "$dir"; return 0; fi
    [ "$mode" = prod ] && omit=(--omit=dev)
    rm -rf -- "$dir" && mkdir -p "$dir" || return 1
    cp "$DASHBOARD_DIR/package.json" "$DASHBOARD_DIR/package-lock.json" "$dir/" || return 1
    if ! (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 timeout -k 5 300 npm ci "${omit[@]}" \
            --no-audit --no-fund --loglevel=error --cache "$dir/.npm-cache" >"$dir/npm.log" 2>&1); then
        tail -n 20 "$dir/npm.log" >&2
        return 1
    fi
    rm -rf -- "$dir/.npm-cache"
    touch "$dir/.installed"
    echo "$dir"
}
