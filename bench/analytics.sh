# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153  # THREADS, MODE, ANY_FAIL ... belong to bench/run
# bench/analytics.sh -- the analytics benchmarks of bench/run (issue
# "Analytics in C") and the measurements of the seed's expected gains.
# Sourced by bench/run, which provides q, section, die, ratio, meets,
# wait_idle, abt_run, abt_psql, abt_as_postgres, $DB, $OUT, $PGB, $QUICK,
# $ROUNDS, $THREADS, $MODE, $GIT_REV and ANY_FAIL. See bench/README.md,
# "4. Analytics".
#
# Schedule: four blocks (A: targets, B: covering and partial indexes, C:
# BRIN and btrees, D: after VACUUM and a day of new traffic), each a list of
# steps "CONFIG KEY". A CONFIG is a set of
# optional indexes (an_apply_config creates and drops indexes to reach it);
# a KEY a pgbench run (AN_SPEC). Odd rounds run the steps in order, even
# rounds in reverse order (configs and keys), so every comparison is
# A B ... B A. Each measured run follows a CHECKPOINT; each KEY is warmed up
# (unmeasured, 1 s) before its first run. A row's latency is the median of
# its runs; the plans of a config are printed when it is first set up.

AN_SQL=$ABT_ROOT/bench/sql/analytics
AN_LOADERS=${BENCH_LOADERS:-2}
# Run lengths (s): most runs, and the seed's 168-hour timeline query (1-2 s
# a query). Blocks A and B (no index rebuilds between rounds) run 3 rounds
# (--quick: 2), blocks C and D ROUNDS (2; --quick: 1).
if [ "$QUICK" = 1 ]; then AN_FAST=2; AN_SLOW=4; AN_ROUNDS_AB=2; else AN_FAST=3; AN_SLOW=6; AN_ROUNDS_AB=3; fi
AN_FAST=${BENCH_DURATION:-$AN_FAST}
AN_SLOW=${BENCH_DURATION:-$AN_SLOW}
AN_ROUNDS_AB=${BENCH_ROUNDS:-$AN_ROUNDS_AB}

declare -A AN_IDXGROW AN_PLAN AN_PLANBRIN AN_PLANNED AN_SPEC AN_SLOWKEY AN_LATS AN_TPSS AN_WAL AN_TXNS AN_UPD AN_HOT AN_ERRS AN_WARM ANID
AN_ROWS=()        # analytics results table
AN_DETAIL=()      # its every-run lines
AN_IMPACT=()      # seed-impact table
AN_PLANSUM=()     # plan summary table
AN_CHECKS=()      # exactness checks
AN_CONFIG=""      # the config the database is in
declare -A AN_BRINSPAN  # how wide the BRIN ranges are, per data state (A, D)

an_q() { q -d "$DB" "$@"; }

# ------------------------------------------------------------- indexes

# Optional indexes: name -> definition. The seed's own (brin, cov_el,
# cov_var, partial) are those of sql/abtest--1.0.sql; the others are the
# alternatives the seed's are compared with.
declare -A AN_INDEX=(
    [brin]="abtest.idx_assignments_assigned_at_brin|CREATE INDEX idx_assignments_assigned_at_brin ON abtest.assignments USING BRIN (assigned_at)"
    [bt_at]="abtest.bench_assignments_assigned_at|CREATE INDEX bench_assignments_assigned_at ON abtest.assignments (assigned_at)"
    [bt_exp_at]="abtest.bench_assignments_experiment_assigned_at|CREATE INDEX bench_assignments_experiment_assigned_at ON abtest.assignments (experiment_id, assigned_at)"
    [cov_el]="abtest.idx_elements_experiment_covering|CREATE INDEX idx_elements_experiment_covering ON abtest.experiment_elements (experiment_id) INCLUDE (id, name, selector)"
    [cov_var]="abtest.idx_variants_element_covering|CREATE INDEX idx_variants_element_covering ON abtest.element_variants (element_id) INCLUDE (total_allocations, total_conversions, conversion_rate)"
    [pl_el]="abtest.bench_elements_experiment|CREATE INDEX bench_elements_experiment ON abtest.experiment_elements (experiment_id)"
    [pl_var]="abtest.bench_variants_element|CREATE INDEX bench_variants_element ON abtest.element_variants (element_id)"
    [partial]="abtest.idx_experiments_active|CREATE INDEX idx_experiments_active ON abtest.experiments (user_id, created_at DESC) WHERE status = 'active'"
    [full]="abtest.bench_experiments_user_created|CREATE INDEX bench_experiments_user_created ON abtest.experiments (user_id, created_at DESC)"
)
AN_INDEX_ORDER=(brin bt_at bt_exp_at cov_el cov_var pl_el pl_var partial full)

# Configs: the optional indexes present (everything else is dropped).
declare -A AN_CONFIGS=(
    [seed]="brin cov_el cov_var partial"
    [el_plain]="brin pl_el pl_var partial"
    [el_none]="brin partial"
    [list_full]="brin cov_el cov_var full"
    [list_none]="brin cov_el cov_var"
    [tl_none]="cov_el cov_var partial"
    [tl_bt_at]="bt_at cov_el cov_var partial"
    [tl_bt_exp_at]="bt_exp_at cov_el cov_var partial"
    [el_cov]="brin cov_el cov_var partial"
    [tl_brin]="brin cov_el cov_var partial"
    [d_seed]="brin cov_el cov_var partial"
    [d_none]="cov_el cov_var partial"
    [d_bt_exp_at]="bt_exp_at cov_el cov_var partial"
)
declare -A AN_CONFIG_TEXT=(
    [seed]="the seed's indexes, as installed"
    [el_plain]="covering indexes replaced by plain btrees (experiment_elements (experiment_id), element_variants (element_id))"
    [el_none]="no index on experiment_elements.experiment_id nor element_variants.element_id"
    [list_full]="idx_experiments_active replaced by a full btree (user_id, created_at DESC)"
    [list_none]="no index for the experiment list"
    [tl_none]="no BRIN (no index on assigned_at)"
    [tl_bt_at]="btree (assigned_at) instead of BRIN"
    [tl_bt_exp_at]="btree (experiment_id, assigned_at) instead of BRIN"
    [el_cov]="the seed's indexes (covering indexes and idx_experiments_active)"
    [tl_brin]="the seed's indexes (BRIN on assigned_at)"
    [d_seed]="the seed's indexes, after VACUUM and a day of new traffic"
    [d_none]="no BRIN, after VACUUM and a day of new traffic"
    [d_bt_exp_at]="btree (experiment_id, assigned_at) instead of BRIN, after VACUUM and a day of new traffic"
)

an_apply_config() {
    local cfg=$1 idx name def want sql="" t0
    [ "$AN_CONFIG" = "$cfg" ] && return 0
    for idx in "${AN_INDEX_ORDER[@]}"; do
        name=${AN_INDEX[$idx]%%|*}
        def=${AN_INDEX[$idx]#*|}
        want=0
        case " ${AN_CONFIGS[$cfg]} " in *" $idx "*) want=1 ;; esac
        if [ "$want" = 1 ]; then
            sql+="SELECT to_regclass('$name') IS NULL AS missing \\gset
\\if :missing
${def/CREATE INDEX /CREATE INDEX IF NOT EXISTS };
\\endif
"
        else
            sql+="DROP INDEX IF EXISTS $name;
"
        fi
    done
    t0=$SECONDS
    printf '%s' "$sql" | abt_psql -q -d "$DB" -f - >"$OUT/config-$cfg.log" 2>&1 \
        || { cat "$OUT/config-$cfg.log" >&2; die "switching to index config $cfg failed"; }
    AN_CONFIG=$cfg
    printf '  -- index config %s: %s (%ss)\n' "$cfg" "${AN_CONFIG_TEXT[$cfg]}" "$((SECONDS - t0))"
}

# ------------------------------------------------------------- pgbench

# an_pgbench KEY SECONDS LOG: one pgbench run of KEY.
# AN_SPEC[KEY] = "MODE CLIENTS SCRIPT [VAR=VALUE...]". MODE: prepared,
# extended, simple, connect (simple, a new connection per transaction: -C),
# generic / custom (prepared, with plan_cache_mode force_generic_plan /
# force_custom_plan for the session). In simple modes pgbench pastes values
# into the SQL text, so non-numeric values are quoted.
an_pgbench() {
    local key=$1 secs=$2 log=$3 spec mode clients script d v threads opts=() envs=() defs=()
    read -r -a spec <<<"${AN_SPEC[$key]}"
    mode=${spec[0]} clients=${spec[1]} script=${spec[2]}
    case $mode in
        prepared) opts=(-M prepared) ;;
        extended) opts=(-M extended) ;;
        simple) opts=(-M simple) ;;
        connect) opts=(-M simple -C) ;;
        generic) opts=(-M prepared); envs=("PGOPTIONS=-c plan_cache_mode=force_generic_plan") ;;
        custom) opts=(-M prepared); envs=("PGOPTIONS=-c plan_cache_mode=force_custom_plan") ;;
        *) die "unknown pgbench mode $mode" ;;
    esac
    for d in "${spec[@]:3}"; do
        v=${d#*=}
        case $mode in
            simple | connect) [[ $v =~ ^[0-9]+$ ]] || v="'$v'" ;;
        esac
        defs+=(-D "${d%%=*}=$v")
    done
    threads=$THREADS
    if [ "$clients" -lt "$threads" ]; then threads=$clients; fi
    abt_run abt_as_postgres env "${envs[@]}" "$ABT_BIN/pgbench" -n "${opts[@]}" -j "$threads" \
        -c "$clients" -T "$secs" -f "$PGB/$script.sql" "${defs[@]}" "$DB" >"$log" 2>&1
}

# "updates HOT-updates index-bytes" of element_variants
an_upd_stats() { an_q -c "SELECT n_tup_upd || ' ' || n_tup_hot_upd || ' ' || pg_indexes_size('abtest.element_variants') FROM pg_stat_user_tables WHERE relid = 'abtest.element_variants'::regclass"; }

# an_measure CONFIG KEY ROUND: one measured run (after a CHECKPOINT).
an_measure() {
    local cfg=$1 base=$2 round=$3 key="$2@$1" secs=$AN_FAST log rc lat tps txns failed aborted lsn0 wal u0 u1 hotinfo=""
    [ -n "${AN_SLOWKEY[$base]:-}" ] && secs=$AN_SLOW
    an_apply_config "$cfg"
    # the plans of a config, the first time it is set up
    if [ -z "${AN_PLANNED[$cfg]:-}" ]; then
        AN_PLANNED[$cfg]=1
        an_plans "$cfg"
        section "analytics: round $round, continued"
    fi
    if [ -z "${AN_WARM[$base]:-}" ]; then
        log=$OUT/an-warmup-$base.log
        if ! an_pgbench "$base" 1 "$log" || ! grep -q '^tps = ' "$log" || grep -q 'aborted in command' "$log"; then
            cat "$log" >&2
            die "warm-up of $key failed"
        fi
        AN_WARM[$base]=1
        wait_idle
    fi
    log=$OUT/an-$key-r$round.log
    q -d postgres -c CHECKPOINT || die "CHECKPOINT failed"
    lsn0=$(q -d postgres -c "SELECT pg_current_wal_lsn()")
    u0=$(an_upd_stats)
    an_pgbench "$base" "$secs" "$log"
    rc=$?
    wait_idle
    u1=$(an_upd_stats)
    wal=$(q -d postgres -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')::bigint")
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$log")
    txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
    aborted=$(grep -c 'aborted in command' "$log")
    if [ "$rc" -ne 0 ] || [ -z "$tps" ] || [ -z "$lat" ] || [ "${failed:-0}" != 0 ] || [ "$aborted" -gt 0 ]; then
        AN_ERRS[$key]+="r$round: pgbench exit $rc, failed ${failed:-?}, aborted $aborted; "
        grep -E 'error|ERROR|aborted' "$log" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/      /'
    fi
    if [ -n "$lat" ]; then AN_LATS[$key]+="$lat "; fi
    if [ -n "$tps" ]; then AN_TPSS[$key]+="$tps "; fi
    AN_WAL[$key]=$(( ${AN_WAL[$key]:-0} + ${wal:-0} ))
    AN_TXNS[$key]=$(( ${AN_TXNS[$key]:-0} + ${txns:-0} ))
    if [[ ${AN_SPEC[$base]} == *an_seed_update* ]]; then
        read -r -a u0 <<<"$u0"
        read -r -a u1 <<<"$u1"
        AN_UPD[$key]=$(( ${AN_UPD[$key]:-0} + u1[0] - u0[0] ))
        AN_HOT[$key]=$(( ${AN_HOT[$key]:-0} + u1[1] - u0[1] ))
        AN_IDXGROW[$key]=$(( ${AN_IDXGROW[$key]:-0} + u1[2] - u0[2] ))
        hotinfo=$(printf '  HOT %s/%s, indexes +%s kB' "$(( u1[1] - u0[1] ))" "$(( u1[0] - u0[0] ))" "$(( (u1[2] - u0[2]) / 1024 ))")
    fi
    printf '  round %s  %-13s %-19s latency %9.3f ms  tps %8.1f  txns %6s  WAL %6s B/txn%s\n' \
        "$round" "$cfg" "$base" "${lat:-0}" "${tps:-0}" "${txns:-0}" \
        "$(( ${wal:-0} / (${txns:-0} > 0 ? ${txns:-0} : 1) ))" "$hotinfo"
}

# an_schedule TITLE ROUNDS STEP...: STEP = "CONFIG KEY"; odd rounds run the
# steps in order, even rounds in reverse order.
an_schedule() {
    local title=$1 rounds=$2 r i
    shift 2
    local steps=("$@")
    for ((r = 1; r <= rounds; r++)); do
        section "analytics: $title, round $r of $rounds ($([ $((r % 2)) = 1 ] && echo 'forward' || echo 'reverse') order)"
        if [ $((r % 2)) = 1 ]; then
            # shellcheck disable=SC2086  # a step is "CONFIG KEY"
            for ((i = 0; i < ${#steps[@]}; i++)); do an_measure ${steps[$i]} "$r"; done
        else
            # shellcheck disable=SC2086
            for ((i = ${#steps[@]} - 1; i >= 0; i--)); do an_measure ${steps[$i]} "$r"; done
        fi
    done
}

# ------------------------------------------------------------- numbers

# Median of the numbers given (empty -> empty), full precision.
an_median() { printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR) printf "%.6g", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
# shellcheck disable=SC2086  # the runs are a space-separated list on purpose
an_lat() { local k=$1; an_median ${AN_LATS[$k]:-}; }
# shellcheck disable=SC2086
an_tps() { local k=$1; an_median ${AN_TPSS[$k]:-}; }
an_runs() { local k=$1; printf '%s' "${AN_LATS[$k]:-}" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.3g", (i > 1 ? ", " : ""), $i }'; }
an_kb() { local k=$1; awk -v b="${AN_IDXGROW[$k]:-0}" -v u="${AN_UPD[$k]:-0}" 'BEGIN { if (u == 0) print "n/a"; else printf "%.0f kB", b / 1024 * 10000 / u }'; }
# latency with a sensible number of digits
an_ms() { awk -v x="$1" 'BEGIN { if (x == "") print "n/a"; else if (x >= 100) printf "%.0f", x; else if (x >= 10) printf "%.1f", x; else if (x >= 1) printf "%.2f", x; else printf "%.3f", x }'; }
an_pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%+.0f%%", (a / b - 1) * 100 }'; }
an_ok() { local k=$1; [ -z "${AN_ERRS[$k]:-}" ] && [ -n "${AN_LATS[$k]:-}" ]; }
an_hotpct() { local k=$1; awk -v h="${AN_HOT[$k]:-0}" -v u="${AN_UPD[$k]:-0}" 'BEGIN { if (u == 0) print "n/a"; else printf "%.0f%%", 100 * h / u }'; }
an_walpt() { local k=$1; echo $(( ${AN_WAL[$k]:-0} / (${AN_TXNS[$k]:-0} > 0 ? ${AN_TXNS[$k]:-0} : 1) )); }

# an_row NAME KEY BASEKEY KIND TARGET TARGETTEXT
#   KIND faster: ratio = latency(BASE) / latency(KEY), PASS when >= TARGET
#   KIND slower: ratio = latency(KEY) / latency(BASE), PASS when <= TARGET
#   TARGET "info": no target.  BASEKEY "-": a value row without ratio.
an_row() {
    local name=$1 key=$2 base=$3 kind=$4 target=$5 ttext=$6 lat blat r rtext result spec clients mode
    read -r mode clients _ <<<"${AN_SPEC[${key%@*}]}"
    lat=$(an_lat "$key")
    if [ "$base" = - ]; then
        r=""; rtext="-"
    else
        blat=$(an_lat "$base")
        if [ "$kind" = faster ]; then r=$(ratio "$blat" "$lat"); rtext="${r}x faster (vs $(an_ms "$blat") ms)"
        else r=$(ratio "$lat" "$blat"); rtext="${r}x (vs $(an_ms "$blat") ms)"; fi
    fi
    case $target in
        info) result=info ;;
        *)
            if [ "$kind" = faster ]; then
                meets "$r" "$target" && result=PASS || result=FAIL
            else
                awk -v r="$r" -v t="$target" 'BEGIN { exit !(r != "n/a" && r + 0 <= t + 0) }' && result=PASS || result=FAIL
            fi
            if ! an_ok "$key" || { [ "$base" != - ] && ! an_ok "$base"; }; then result=FAIL; fi
            [ "$result" = FAIL ] && ANY_FAIL=1 ;;
    esac
    if ! an_ok "$key"; then result+=" (errors: ${AN_ERRS[$key]:-no run})"; fi
    AN_ROWS+=("| $name | $clients | $mode | $(an_ms "$lat") | $rtext | $ttext | $result |")
    AN_DETAIL+=("$(printf '%-58s %-22s latency %9s ms  runs: %s' "$name" "${key#*@}:${key%@*}" "$(an_ms "$lat")" "$(an_runs "$key")")")
}

# an_amortisation KEY100 KEY1: one call for 100 experiments against 100
# single-experiment calls (100 x KEY1's latency).
an_amortisation() {
    local l100 l1
    l100=$(an_lat "$1"); l1=$(an_lat "$2")
    AN_ROWS+=("| abt_variant_stats: one call for 100 experiments vs 100 single-experiment calls | 1 | prepared | $(an_ms "$l100") | $(awk -v a="$l100" -v b="$l1" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.3fx (vs %s ms = 100 x %s ms)", a / (100 * b), 100 * b, b }') | info (per-experiment cost amortised) | info |")
}

# The latency of the faster of two keys (and which one).
an_best() { local a=$1 b=$2; awk -v x="$(an_lat "$a")" -v y="$(an_lat "$b")" -v a="$a" -v b="$b" \
    'BEGIN { if (y != "" && (x == "" || y + 0 < x + 0)) print b; else print a }'; }

# "with ms vs without ms: -NN% latency (N.NNx)"
an_cmp() {
    local with=$1 without=$2 lw lo
    lw=$(an_lat "$with"); lo=$(an_lat "$without")
    printf '%s ms vs %s ms: %s latency (%sx)' "$(an_ms "$lw")" "$(an_ms "$lo")" "$(an_pct "$lw" "$lo")" "$(ratio "$lo" "$lw")"
}

# an_verdict WITH WITHOUT LO HI: latency reduction of WITH against WITHOUT,
# compared with the seed's expected reduction LO..HI percent.
an_verdict() {
    awk -v w="$(an_lat "$1")" -v o="$(an_lat "$2")" -v lo="$3" -v hi="$4" 'BEGIN {
        if (w == "" || o == "" || o + 0 == 0) { print "n/a"; exit }
        red = (1 - w / o) * 100
        if (red < -5) print "does not pay: slower"
        else if (red < 5) print "does not pay (no measurable difference)"
        else if (red < lo) print "pays, less than expected"
        else if (red <= hi) print "pays, as expected"
        else print "pays, more than expected" }'
}

# ------------------------------------------------------------- phases

an_load() {
    local t0 last pids=() l n
    section "analytics: data (bench/sql/analytics)"
    t0=$SECONDS
    for f in 01_setup 03_explain; do
        abt_run abt_psql -q -d "$DB" -f "$AN_SQL/$f.sql" >"$OUT/an-load-$f.log" 2>&1 \
            || { cat "$OUT/an-load-$f.log" >&2; die "loading $f.sql failed"; }
    done
    abt_log "experiments created in $((SECONDS - t0))s; loading 2.7M visitors with abt_assign_bulk and 270k conversions with abt_convert in $AN_LOADERS sessions (takes minutes)"
    # No autovacuum of assignments while it is loaded: a vacuum in the middle
    # frees the space of the converted rows' old versions, and the rows loaded
    # after it (days later in assigned_at) fill those holes, which widens
    # nearly every BRIN range (live traffic does that too, see bench/README.md).
    # The benchmark gives BRIN its best case: a heap in assigned_at order.
    an_q -c "ALTER TABLE abtest.assignments SET (autovacuum_enabled = off)" || die "ALTER TABLE failed"
    t0=$SECONDS
    for ((l = 0; l < AN_LOADERS; l++)); do
        abt_run abt_psql -qAt -d "$DB" -v loader="$l" -v loaders="$AN_LOADERS" -f "$AN_SQL/02_load.sql" \
            >"$OUT/an-load-02_load-$l.log" 2>&1 &
        pids+=($!)
    done
    last=$SECONDS
    while :; do
        n=0
        for l in "${pids[@]}"; do kill -0 "$l" 2>/dev/null && n=$((n + 1)); done
        [ "$n" = 0 ] && break
        sleep 2
        if [ $((SECONDS - last)) -ge 30 ]; then
            last=$SECONDS
            printf '  %4ss: %s rows inserted into abtest.assignments so far, %s loaders running\n' "$((SECONDS - t0))" \
                "$(q -d "$DB" -c "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relid = 'abtest.assignments'::regclass")" "$n"
        fi
    done
    for l in "${pids[@]}"; do
        wait "$l" || { cat "$OUT"/an-load-02_load-*.log | tail -n 20 >&2; die "a loader failed"; }
    done
    abt_log "loaded in $((SECONDS - t0))s; VACUUM ANALYZE"
    t0=$SECONDS
    an_q -c "ALTER TABLE abtest.assignments RESET (autovacuum_enabled)" || die "ALTER TABLE failed"
    an_q -c "VACUUM ANALYZE" || die "VACUUM failed"
    q -d postgres -c CHECKPOINT || die "CHECKPOINT failed"
    abt_log "vacuumed in $((SECONDS - t0))s"
    an_ids
    abt_psql -d "$DB" -P footer=off -c "
        SELECT b.name, b.visitors, count(a.*) AS assignments, count(a.converted_at) AS converted,
               min(a.assigned_at)::timestamp(0) AS first_assigned, max(a.assigned_at)::timestamp(0) AS last_assigned,
               (SELECT count(DISTINCT slot) FROM abtest.experiment_timeline t WHERE t.experiment_id = b.experiment) AS rollup_slots
          FROM bench_an b JOIN abtest.assignments a ON a.experiment_id = b.experiment
         WHERE b.name IN ('an-big', 'an-mid', 'an-s1', 'an-s100')
         GROUP BY b.name, b.visitors, b.experiment ORDER BY b.visitors DESC, b.name" | tee "$OUT/an-data.txt"
    abt_psql -d "$DB" -P footer=off -c "
        SELECT c.relname AS table, c.reltuples::bigint AS rows, pg_size_pretty(pg_relation_size(c.oid)) AS heap,
               pg_size_pretty(pg_indexes_size(c.oid)) AS indexes
          FROM pg_class c WHERE c.relnamespace = 'abtest'::regnamespace AND c.relkind = 'r'
         ORDER BY pg_total_relation_size(c.oid) DESC" | tee -a "$OUT/an-data.txt"
    # What BRIN sees: how much time of assigned_at each 128-page block range spans
    an_brin_spans A
}

# Reads the experiment ids (ANID) from bench_an.
an_ids() {
    local n l
    while IFS='|' read -r n l; do ANID[$n]=$l; done < <(an_q -c "SELECT name, experiment FROM bench_an")
    ANID[small100]=$(an_q -c "SELECT '{' || string_agg(experiment::text, ',' ORDER BY substr(name, 5)::int) || '}' FROM bench_an WHERE name LIKE 'an-s%'")
    ANID[mixed100]=$(an_q -c "SELECT '{' || string_agg(experiment::text, ',' ORDER BY n) || '}' FROM (
        SELECT experiment, substr(name, 5)::int AS n FROM bench_an WHERE name LIKE 'an-s%' AND substr(name, 5)::int <= 98
        UNION ALL SELECT experiment, 0 FROM bench_an WHERE name = 'an-big'
        UNION ALL SELECT experiment, 50 FROM bench_an WHERE name = 'an-mid') AS x")
}

# The rows of the stats runs st_s1 and st_100, stored in plain tables for
# an_stats_rows.sql: what sending that many rows costs whatever makes them.
an_stats_rows() {
    an_q -c "DROP TABLE IF EXISTS bench_stats_rows_1, bench_stats_rows_100" \
         -c "CREATE TABLE bench_stats_rows_1 AS SELECT * FROM abt_variant_stats('{${ANID[an-s1]}}')" \
         -c "CREATE TABLE bench_stats_rows_100 AS SELECT * FROM abt_variant_stats('${ANID[small100]}')" \
         -c "VACUUM ANALYZE bench_stats_rows_1, bench_stats_rows_100" >/dev/null \
        || die "creating the stats row tables failed"
}

# an_checks LABEL: exactness. abt_timeline against the seed's query (in one
# transaction, so with the same now()), at a session's 1st call and at its
# 7th (its kept plans may be generic by then); abt_variant_stats against
# counting the assignments and their conversions per variant.
an_checks() {
    local label=$1 out n what
    section "analytics: exactness ($label)"
    out=$(abt_psql -qAt -d "$DB" -v big="${ANID[an-big]}" -v mid="${ANID[an-mid]}" -F ' ' <<'EOF'
CREATE TEMP TABLE checks (what text, mismatches bigint);
CREATE FUNCTION pg_temp.timeline_mismatches(e uuid, h int) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM (
        SELECT bucket, assignments, conversions FROM abt_timeline(e, h) WHERE assignments > 0
    ) f FULL JOIN (
        SELECT DATE_TRUNC('hour', assigned_at) AS bucket, COUNT(*) AS assignments, COUNT(converted_at) AS conversions
          FROM abtest.assignments WHERE experiment_id = e AND assigned_at >= NOW() - INTERVAL '1 hour' * h
         GROUP BY DATE_TRUNC('hour', assigned_at)
    ) s USING (bucket)
    WHERE f.assignments IS DISTINCT FROM s.assignments OR f.conversions IS DISTINCT FROM s.conversions $$;
INSERT INTO checks SELECT 'abt_timeline = seed query, an-big 168 h, 1st call of the session', pg_temp.timeline_mismatches(:'big', 168);
SELECT count(*) FROM abt_timeline(:'big', 168) \g /dev/null
SELECT count(*) FROM abt_timeline(:'big', 168) \g /dev/null
SELECT count(*) FROM abt_timeline(:'big', 168) \g /dev/null
SELECT count(*) FROM abt_timeline(:'big', 168) \g /dev/null
SELECT count(*) FROM abt_timeline(:'big', 168) \g /dev/null
BEGIN;
INSERT INTO checks SELECT 'abt_timeline = seed query, an-big 168 h, 7th call', pg_temp.timeline_mismatches(:'big', 168);
INSERT INTO checks SELECT 'abt_timeline = seed query, an-mid 168 h, 8th call', pg_temp.timeline_mismatches(:'mid', 168);
INSERT INTO checks SELECT 'abt_timeline = seed query, an-big 24 h, 9th call', pg_temp.timeline_mismatches(:'big', 24);
COMMIT;
INSERT INTO checks
SELECT 'abt_variant_stats = counted assignments (allocations, conversions), every analytics experiment',
       count(*) FILTER (WHERE s.allocations IS DISTINCT FROM coalesce(c.n, 0) OR s.conversions IS DISTINCT FROM coalesce(c.conv, 0))
  FROM (SELECT x.variant_id, x.allocations, x.conversions
          FROM abt_variant_stats(ARRAY(SELECT experiment FROM bench_an)) AS x) s
  FULL JOIN (SELECT v.value::uuid AS variant_id, count(*) AS n, count(a.converted_at) AS conv
               FROM abtest.assignments a, jsonb_each_text(a.variants) AS v
              WHERE a.experiment_id IN (SELECT experiment FROM bench_an)
              GROUP BY 1) c USING (variant_id);
SELECT mismatches, what FROM checks;
EOF
) || die "exactness checks failed to run"
    printf '%s\n' "$out" | tee -a "$OUT/an-checks.txt"
    while read -r n what; do
        AN_CHECKS+=("$n|$what ($label)")
    done <<<"$out"
}

# The span of assigned_at in each 128-page block range of abtest.assignments
# (BRIN's default pages_per_range): printed; AN_BRINSPAN[LABEL] gets a summary.
an_brin_spans() {
    local label=$1
    abt_psql -d "$DB" -P footer=off -c "
        SELECT CASE WHEN span <= interval '1 hour' THEN 'a: up to 1 hour'
                    WHEN span <= interval '1 day' THEN 'b: 1 hour to 1 day'
                    ELSE 'c: more than 1 day' END AS assigned_at_span_of_a_brin_range,
               count(*) AS ranges, round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
          FROM (SELECT max(assigned_at) - min(assigned_at) AS span
                  FROM abtest.assignments GROUP BY (ctid::text::point)[0]::bigint / 128) AS r
         GROUP BY 1 ORDER BY 1" | tee -a "$OUT/an-data.txt"
    AN_BRINSPAN[$label]=$(an_q -c "
        SELECT round(100.0 * count(*) FILTER (WHERE span > interval '1 day') / count(*)) || '% of the ranges span more than a day of assigned_at'
          FROM (SELECT max(assigned_at) - min(assigned_at) AS span
                  FROM abtest.assignments GROUP BY (ctid::text::point)[0]::bigint / 128) AS r")
}

# Block D's data: VACUUM (as autovacuum would), then a day of new traffic of
# another experiment (an-new: 270k visitors assigned over the last 24 hours,
# 10% converting), then ANALYZE. The new rows fill the space the vacuum
# freed (the old versions of converted rows) all over the table, as live
# traffic does: the heap is no longer in assigned_at order.
an_new_day() {
    local t0=$SECONDS
    section "analytics: D data: VACUUM, then a day of new traffic (bench/sql/analytics/04_new_day.sql)"
    an_q -c "VACUUM abtest.assignments" || die "VACUUM failed"
    abt_run abt_psql -qAt -d "$DB" -f "$AN_SQL/04_new_day.sql" >"$OUT/an-load-04_new_day.log" 2>&1 \
        || { tail -n 20 "$OUT/an-load-04_new_day.log" >&2; die "loading 04_new_day.sql failed"; }
    abt_log "270k assignments (an-new) loaded in $((SECONDS - t0))s"
    printf '\nafter the new day:\n' | tee -a "$OUT/an-data.txt"
    an_brin_spans D
    AN_CONFIG=""    # re-check the indexes
}

# an_explain ID TITLE STMT ARGS [SETTINGS [SQL_BEFORE]]: prints the plan of
# STMT (bench_explain) and adds a summary row; AN_PLAN[ID] gets its scans,
# AN_PLANBRIN[ID] whether it uses the BRIN index. With SQL_BEFORE (e.g. a
# DROP INDEX), both run in a transaction that is rolled back.
an_explain() {
    local id=$1 title=$2 stmt=$3 args=$4 settings=${5:-} before=${6:-} out sum cmds=()
    if [ -n "$before" ]; then cmds=(-c BEGIN -c "$before"); fi
    cmds+=(-c "SELECT bench_explain(\$q\$$stmt\$q\$, \$a\$$args\$a\$, '$settings')")
    if [ -n "$before" ]; then cmds+=(-c ROLLBACK); fi
    out=$(abt_psql -qAt -d "$DB" "${cmds[@]}" 2>&1) || { printf '%s\n' "$out"; die "EXPLAIN failed: $title"; }
    printf '\n--- %s%s\n' "$title" "${settings:+ [$settings]}"
    printf '%s\n' "$out" | grep -v '^SUMMARY|'
    sum=$(printf '%s\n' "$out" | sed -n 's/^SUMMARY|//p')
    AN_PLAN[$id]=${sum%%|*}
    AN_PLANBRIN[$id]=$(cut -d'|' -f2 <<<"$sum")
    AN_PLANSUM+=("| $title | ${settings:-default} | ${sum%%|*} | ${AN_PLANBRIN[$id]} | $(an_ms "${sum##*|}") |")
}

# The plans of abt_timeline's own queries (auto_explain, nested statements)
# at the 1st and the 6th call of a session: SPI keeps its plans, and from
# the 6th execution on PostgreSQL may switch a kept plan to a generic one.
# ID: AN_PLAN[ID-1] and AN_PLAN[ID-6] get the scans of calls 1 and 6.
an_explain_timeline() {
    local id=$1 title=$2 exp=$3 out call sum
    out=$(abt_psql -q -d "$DB" -v exp="$exp" 2>&1 <<'EOF'
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_level = notice;
\echo CALL 1
SELECT count(*) FROM abt_timeline(:'exp', 168) \g /dev/null
SET auto_explain.log_min_duration = -1;
SELECT count(*) FROM abt_timeline(:'exp', 168) \g /dev/null
SELECT count(*) FROM abt_timeline(:'exp', 168) \g /dev/null
SELECT count(*) FROM abt_timeline(:'exp', 168) \g /dev/null
SELECT count(*) FROM abt_timeline(:'exp', 168) \g /dev/null
SET auto_explain.log_min_duration = 0;
\echo CALL 6
SELECT count(*) FROM abt_timeline(:'exp', 168) \g /dev/null
EOF
) || { printf '%s\n' "$out"; die "auto_explain of abt_timeline failed"; }
    printf '\n--- %s: the plans of its queries at the 1st and the 6th call of a session (auto_explain)\n' "$title"
    printf '%s\n' "$out" | sed 's/^NOTICE:  //'
    for call in 1 6; do
        # the statements of one call, without the outer SELECT
        sum=$(printf '%s\n' "$out" | awk -v c="CALL $call" '$0 == c { on = 1; next } /^CALL / { on = 0 } on' \
            | awk '/duration: .* plan:/ { d = $0; sub(/.*duration: /, "", d); sub(/ ms.*/, "", d) }
                   /Query Text:/ { t = $0 }
                   /Query Text: SELECT count\(\*\) FROM abt_timeline/ { skip = 1; total = d; next }
                   /Query Text:/ { skip = 0; n++; q[n] = (t ~ /assignments a/ ? "assignments" : (t ~ /experiment_timeline/ ? "rollups" : "other")); ms[n] = d }
                   !skip && /(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan)/ && n {
                       s = $0; sub(/^ *(->)? */, "", s); sub(/  \(.*/, "", s); sub(/ on abtest\./, " on ", s); scans[n] = scans[n] (scans[n] ? " + " : "") s }
                   END { for (i = 1; i <= n; i++) if (q[i] != "other") printf "%s%s: %s (%s ms)", (o++ ? "; " : ""), q[i], scans[i], ms[i]; printf "|%s", total }')
        AN_PLAN[$id-$call]=${sum%|*}
        AN_PLANSUM+=("| $title, call $call: its queries | $( [ "$call" = 1 ] && echo 'custom plans (calls 1-5)' || echo 'from call 6: plan cache may go generic' ) | ${sum%|*} | $([[ ${sum%|*} == *idx_assignments_assigned_at_brin* ]] && echo yes || echo no) | $(an_ms "${sum##*|}") |")
    done
}

AN_SEED_TL="SELECT DATE_TRUNC('hour', assigned_at), COUNT(*), COUNT(converted_at) FROM abtest.assignments WHERE experiment_id = \$1 AND assigned_at >= NOW() - INTERVAL '1 hour' * \$2 GROUP BY DATE_TRUNC('hour', assigned_at)"
AN_SEED_VARIANTS="SELECT ev.*, ee.id FROM abtest.element_variants ev JOIN abtest.experiment_elements ee ON ev.element_id = ee.id WHERE ee.experiment_id = \$1"
AN_SEED_LIST="SELECT * FROM abtest.experiments WHERE user_id = \$1 AND status = 'active' ORDER BY created_at DESC LIMIT 20"

# an_plans CONFIG: the plans that config is about (printed, also to plans.txt).
an_plans() {
    local cfg=$1 big=${ANID[an-big]} h168 h24 gen=plan_cache_mode=force_generic_plan
    h168="'$big', 168"
    h24="'$big', 24"
    case $cfg in el_cov | tl_brin) return 0 ;; esac    # the seed's indexes: see "seed"
    section "analytics: plans, index config $cfg (${AN_CONFIG_TEXT[$cfg]})"
    # not through a pipe: the summaries are collected in this shell
    {
        case $cfg in
            seed)
                an_explain seed168 "seed timeline query, an-big 168 h, custom plan (simple or unnamed extended protocol)" "$AN_SEED_TL" "$h168"
                an_explain seed168gen "seed timeline query, an-big 168 h, generic plan (a prepared statement from its 6th execution)" "$AN_SEED_TL" "$h168" "$gen"
                an_explain seed168noseq "seed timeline query, an-big 168 h, custom plan" "$AN_SEED_TL" "$h168" enable_seqscan=off
                an_explain seed168bitmap "seed timeline query, an-big 168 h, custom plan" "$AN_SEED_TL" "$h168" enable_seqscan=off,enable_indexscan=off
                an_explain seed168nobitmap "seed timeline query, an-big 168 h, custom plan" "$AN_SEED_TL" "$h168" enable_bitmapscan=off
                an_explain seed168nounconv "seed timeline query, an-big 168 h, custom plan, idx_assignments_unconverted dropped" \
                    "$AN_SEED_TL" "$h168" "" "DROP INDEX abtest.idx_assignments_unconverted"
                an_explain seed168nounconvnoseq "seed timeline query, an-big 168 h, custom plan, idx_assignments_unconverted dropped" \
                    "$AN_SEED_TL" "$h168" enable_seqscan=off "DROP INDEX abtest.idx_assignments_unconverted"
                an_explain seed24 "seed timeline query, an-big 24 h, custom plan" "$AN_SEED_TL" "$h24"
                an_explain seed24gen "seed timeline query, an-big 24 h, generic plan" "$AN_SEED_TL" "$h24" "$gen"
                an_explain_timeline tl "abt_timeline(an-big, 168)" "$big"
                an_explain variants "seed variant query, platform experiment 4242" "$AN_SEED_VARIANTS" "bench_uuid(1, 4242)"
                an_explain list "seed experiment list, account 42" "$AN_SEED_LIST" "bench_uuid(9, 42)"
                ;;
            el_plain | el_none)
                an_explain "variants-$cfg" "seed variant query, platform experiment 4242, $cfg" "$AN_SEED_VARIANTS" "bench_uuid(1, 4242)" ;;
            list_full | list_none)
                an_explain "list-$cfg" "seed experiment list, account 42, $cfg" "$AN_SEED_LIST" "bench_uuid(9, 42)" ;;
            d_seed)
                an_explain "seed168-$cfg" "seed timeline query, an-big 168 h, $cfg, custom plan" "$AN_SEED_TL" "$h168"
                an_explain "seed24-$cfg" "seed timeline query, an-big 24 h, $cfg, custom plan" "$AN_SEED_TL" "$h24"
                an_explain "seed24gen-$cfg" "seed timeline query, an-big 24 h, $cfg, generic plan" "$AN_SEED_TL" "$h24" "$gen"
                an_explain_timeline "tl-$cfg" "abt_timeline(an-big, 168), $cfg" "$big" ;;
            d_none)
                an_explain "seed24-$cfg" "seed timeline query, an-big 24 h, $cfg, custom plan" "$AN_SEED_TL" "$h24" ;;
            d_bt_exp_at)
                an_explain_timeline "tl-$cfg" "abt_timeline(an-big, 168), $cfg" "$big" ;;
            tl_*)
                an_explain "seed168-$cfg" "seed timeline query, an-big 168 h, $cfg, custom plan" "$AN_SEED_TL" "$h168"
                an_explain "seed168gen-$cfg" "seed timeline query, an-big 168 h, $cfg, generic plan" "$AN_SEED_TL" "$h168" "$gen"
                an_explain "seed24-$cfg" "seed timeline query, an-big 24 h, $cfg, custom plan" "$AN_SEED_TL" "$h24"
                an_explain_timeline "tl-$cfg" "abt_timeline(an-big, 168), $cfg" "$big" ;;
        esac
    } >"$OUT/plans-$cfg.txt"
    cat "$OUT/plans-$cfg.txt"
    { section "index config $cfg"; cat "$OUT/plans-$cfg.txt"; } >>"$OUT/plans.txt"
}

# ------------------------------------------------------------- main

bench_analytics() {
    local fn k big mid s1 a=() b=() c=() d=()
    section "analytics"
    for fn in abt_timeline abt_variant_stats; do
        if [ "$(q -d "$DB" -c "SELECT count(*) FROM pg_proc WHERE proname = '$fn'")" = 0 ]; then
            echo "skipped: $fn not installed"
            return 0
        fi
    done
    an_load
    big=${ANID[an-big]} mid=${ANID[an-mid]} s1=${ANID[an-s1]}
    if [ -z "$big" ] || [ -z "$mid" ] || [ -z "$s1" ]; then die "bench_an lacks an-big, an-mid or an-s1"; fi
    an_checks "A: heap in assigned_at order"
    an_stats_rows

    # The runs: AN_SPEC[key] = "MODE CLIENTS SCRIPT VAR=VALUE..."
    AN_SPEC=(
        [tl_seed_big]="extended 1 an_seed_timeline exp=$big hours=168"
        [tl_seed_gen_big]="generic 1 an_seed_timeline exp=$big hours=168"
        [tl_seed_mid]="extended 1 an_seed_timeline exp=$mid hours=168"
        [tl_seed24_big]="extended 1 an_seed_timeline exp=$big hours=24"
        [tl_abt_big]="prepared 1 an_timeline exp=$big hours=168"
        [tl_abt_mid]="prepared 1 an_timeline exp=$mid hours=168"
        [tl_abt_s1]="prepared 1 an_timeline exp=$s1 hours=168"
        [tl_abt_custom_big]="custom 1 an_timeline exp=$big hours=168"
        [tl_abt_custom_mid]="custom 1 an_timeline exp=$mid hours=168"
        [st_s1]="prepared 1 an_stats ids={$s1}"
        [st_mid]="prepared 1 an_stats ids={$mid}"
        [st_big]="prepared 1 an_stats ids={$big}"
        [st_100]="prepared 1 an_stats ids=${ANID[small100]}"
        [st_100x]="prepared 1 an_stats ids=${ANID[mixed100]}"
        [st_s1_fn]="prepared 1 an_stats_count ids={$s1}"
        [st_100_fn]="prepared 1 an_stats_count ids=${ANID[small100]}"
        [st_rows_1]="prepared 1 an_stats_rows n=1"
        [st_rows_100]="prepared 1 an_stats_rows n=100"
        [sd_variants]="prepared 1 an_seed_variants"
        [sd_update]="prepared 2 an_seed_update"
        [sd_list]="prepared 1 an_seed_list"
        [sd_lookup_prep]="prepared 1 an_seed_lookup exp=$big"
        [sd_lookup_ext]="extended 1 an_seed_lookup exp=$big"
        [sd_lookup_simple]="simple 1 an_seed_lookup exp=$big"
        [sd_lookup_connect]="connect 1 an_seed_lookup exp=$big"
    )
    AN_SLOWKEY=([tl_seed_big]=1 [tl_seed_gen_big]=1 [tl_seed_mid]=1)

    # A: the targets, the seed's query, prepared statements and connections,
    # with the seed's indexes
    for k in tl_seed_big tl_abt_big tl_seed_gen_big tl_abt_mid tl_seed_mid tl_abt_s1 tl_abt_custom_big tl_abt_custom_mid \
             st_s1 st_100 st_big st_mid st_100x st_s1_fn st_100_fn st_rows_1 st_rows_100 \
             sd_lookup_prep sd_lookup_simple sd_lookup_ext sd_lookup_connect; do
        a+=("seed $k")
    done
    # B: covering and partial indexes against their alternatives
    b=("el_cov sd_variants" "el_cov sd_update" "el_plain sd_variants" "el_plain sd_update"
       "el_none sd_variants" "el_none sd_update"
       "el_cov sd_list" "list_full sd_list" "list_none sd_list")
    # C: BRIN against no index and the btrees on assigned_at
    c=("tl_brin tl_seed_big" "tl_brin tl_seed_gen_big" "tl_brin tl_seed24_big" "tl_brin tl_abt_big"
       "tl_none tl_seed_big" "tl_none tl_seed_gen_big" "tl_none tl_seed24_big" "tl_none tl_abt_big"
       "tl_bt_at tl_seed_big" "tl_bt_at tl_seed24_big" "tl_bt_at tl_abt_big"
       "tl_bt_exp_at tl_seed_big" "tl_bt_exp_at tl_seed24_big" "tl_bt_exp_at tl_abt_big")
    # D: after VACUUM and a day of new traffic (heap no longer in assigned_at order)
    d=("d_seed tl_seed_big" "d_seed tl_abt_big" "d_seed tl_abt_mid" "d_seed tl_abt_custom_big" "d_seed tl_seed24_big"
       "d_none tl_seed24_big" "d_bt_exp_at tl_abt_big" "d_bt_exp_at tl_abt_mid")
    printf '\nmeasured runs: A %s x %s rounds, B %s x %s, C %s x %s, D %s x %s; %s s each, %s s for the seed 168-hour timeline query\n' \
        "${#a[@]}" "$AN_ROUNDS_AB" "${#b[@]}" "$AN_ROUNDS_AB" "${#c[@]}" "$ROUNDS" "${#d[@]}" "$ROUNDS" "$AN_FAST" "$AN_SLOW"
    an_schedule "A (targets, seed's indexes)" "$AN_ROUNDS_AB" "${a[@]}"
    an_schedule "B (covering and partial indexes)" "$AN_ROUNDS_AB" "${b[@]}"
    an_schedule "C (BRIN and btrees for the timeline)" "$ROUNDS" "${c[@]}"
    an_new_day
    an_checks "D: after VACUUM and a day of new traffic"
    an_schedule "D (after VACUUM and a day of new traffic)" "$ROUNDS" "${d[@]}"
    # leave the database with the seed's indexes, as installed
    an_apply_config seed
    an_results
}

# ------------------------------------------------------------- results

an_results() {
    local best n what sfx c
    # ---- targets
    best=$(an_best tl_seed_big@seed tl_seed_gen_big@seed)
    an_row "abt_timeline(an-big, 168) vs the seed's query (its faster protocol: ${AN_SPEC[${best%@*}]%% *})" \
        tl_abt_big@seed "$best" faster 50 ">= 50x faster"
    an_row "abt_timeline(an-big, 168) vs the seed's query, custom plan (extended protocol)" tl_abt_big@seed tl_seed_big@seed faster info "info"
    an_row "abt_timeline(an-big, 168) vs the seed's query, prepared (generic plan)" tl_abt_big@seed tl_seed_gen_big@seed faster info "info"
    an_row "abt_timeline: an-big (2M rows) vs an-mid (500k), slowdown" tl_abt_big@seed tl_abt_mid@seed slower 1.5 "<= 1.50x"
    an_row "abt_timeline: an-s1 (2k rows) vs an-mid (500k)" tl_abt_s1@seed tl_abt_mid@seed slower info "info"
    an_row "seed timeline query: an-big (2M) vs an-mid (500k), slowdown" tl_seed_big@seed tl_seed_mid@seed slower info "info (grows with rows)"
    an_row "abt_timeline(an-big), its SPI plans forced custom, vs as is" tl_abt_custom_big@seed tl_abt_big@seed faster info "info (plan_cache_mode = force_custom_plan)"
    an_row "abt_timeline(an-big), SPI plans forced custom, vs the seed's query" tl_abt_custom_big@seed "$best" faster info "info (what a fix would give)"
    an_row "abt_timeline, SPI plans forced custom: an-big vs an-mid, slowdown" tl_abt_custom_big@seed tl_abt_custom_mid@seed slower info "info (what a fix would give)"
    an_row "D: abt_timeline(an-big, 168) vs the seed's query (custom plan), after VACUUM and a day of new traffic" \
        tl_abt_big@d_seed tl_seed_big@d_seed faster 50 ">= 50x faster"
    an_row "D: abt_timeline: an-big (2M rows) vs an-mid (500k), slowdown, after VACUUM and a new day" \
        tl_abt_big@d_seed tl_abt_mid@d_seed slower 1.5 "<= 1.50x"
    an_row "D: abt_timeline(an-big), SPI plans forced custom, vs as is" tl_abt_custom_big@d_seed tl_abt_big@d_seed faster info "info (plan_cache_mode = force_custom_plan)"
    an_row "D: abt_timeline(an-big) with a btree (experiment_id, assigned_at) instead of BRIN vs the seed's query" tl_abt_big@d_bt_exp_at tl_seed_big@d_seed faster info "info"
    an_row "D: abt_timeline with a btree (experiment_id, assigned_at): an-big vs an-mid, slowdown" tl_abt_big@d_bt_exp_at tl_abt_mid@d_bt_exp_at slower info "info"
    an_row "abt_variant_stats: 100 experiments (an-s1..100) in one call vs 1 (an-s1)" st_100@seed st_s1@seed slower 3 "<= 3.00x"
    an_row "floor: those rows (100 experiments vs 1) read from a plain table and sent" st_rows_100@seed st_rows_1@seed slower info "info (sending the rows alone)"
    an_row "abt_variant_stats, rows made but not sent (count(*)): 100 experiments vs 1" st_100_fn@seed st_s1_fn@seed slower info "info (the function's own cost)"
    an_amortisation st_100@seed st_s1@seed
    an_row "abt_variant_stats: an-big (2M) vs an-mid (500k)" st_big@seed st_mid@seed slower 1.5 "near 1 (<= 1.50x)"
    an_row "abt_variant_stats: an-big (2M) vs an-s1 (2k)" st_big@seed st_s1@seed slower info "info (above 1500 conversions chance to beat integrates: a constant ~45 us per variant)"
    an_row "abt_variant_stats: an-mid (500k) vs an-s1 (2k)" st_mid@seed st_s1@seed slower info "info (the same step)"
    an_row "abt_variant_stats: 100 incl. an-big + an-mid vs 100 small" st_100x@seed st_100@seed slower 1.5 "near 1 (<= 1.50x)"
    for c in "${AN_CHECKS[@]}"; do
        n=${c%%|*} what=${c#*|}
        if [ "$n" = 0 ]; then sfx=PASS; else sfx="FAIL ($n mismatching rows)"; ANY_FAIL=1; fi
        AN_ROWS+=("| exact: $what | 1 | - | - | - | 0 mismatches | $sfx |")
    done
    # informational rows for the seed-impact table's every-run detail
    for c in sd_variants@el_cov sd_variants@el_plain sd_variants@el_none sd_update@el_cov sd_update@el_plain sd_update@el_none \
             sd_list@el_cov sd_list@list_full sd_list@list_none sd_lookup_prep@seed sd_lookup_simple@seed sd_lookup_ext@seed \
             sd_lookup_connect@seed tl_seed_big@tl_brin tl_seed_big@tl_none tl_seed_big@tl_bt_at tl_seed_big@tl_bt_exp_at \
             tl_seed_gen_big@tl_brin tl_seed_gen_big@tl_none tl_seed24_big@tl_brin tl_seed24_big@tl_none tl_seed24_big@tl_bt_at \
             tl_seed24_big@tl_bt_exp_at tl_abt_big@tl_brin tl_abt_big@tl_none tl_abt_big@tl_bt_at tl_abt_big@tl_bt_exp_at \
             tl_seed24_big@d_seed tl_seed24_big@d_none; do
        AN_DETAIL+=("$(printf '%-58s %-22s latency %9s ms  runs: %s' "(seed impact)" "${c#*@}:${c%@*}" "$(an_ms "$(an_lat "$c")")" "$(an_runs "$c")")")
    done

    # ---- seed impact
    local m v
    m="seed variant query (random one of 10,000 experiments): covering vs no index $(an_cmp sd_variants@el_cov sd_variants@el_none); covering vs plain btrees on the same keys $(an_cmp sd_variants@el_cov sd_variants@el_plain). Plans: ${AN_PLAN[variants]:-?} / ${AN_PLAN[variants-el_plain]:-?} / ${AN_PLAN[variants-el_none]:-?}"
    AN_IMPACT+=("| covering indexes idx_elements_experiment_covering + idx_variants_element_covering (read) | 50-70% faster variant lookups | $m | vs no index: $(an_verdict sd_variants@el_cov sd_variants@el_none 50 70); vs plain btrees: $(an_verdict sd_variants@el_cov sd_variants@el_plain 50 70) (ev.* needs the heap, so INCLUDE saves nothing) |")
    m="seed-as-app counter write, UPDATE element_variants SET total_allocations = total_allocations + 1 (2 clients, commit-bound): covering / plain btrees / no index: latency $(an_ms "$(an_lat sd_update@el_cov)") / $(an_ms "$(an_lat sd_update@el_plain)") / $(an_ms "$(an_lat sd_update@el_none)") ms (covering vs plain $(an_pct "$(an_lat sd_update@el_cov)" "$(an_lat sd_update@el_plain)")); HOT updates $(an_hotpct sd_update@el_cov) / $(an_hotpct sd_update@el_plain) / $(an_hotpct sd_update@el_none); WAL $(an_walpt sd_update@el_cov) / $(an_walpt sd_update@el_plain) / $(an_walpt sd_update@el_none) B/txn; index growth per 10k updates $(an_kb sd_update@el_cov) / $(an_kb sd_update@el_plain) / $(an_kb sd_update@el_none)"
    AN_IMPACT+=("| idx_variants_element_covering on the write path | (not in the seed's table) | $m | costs: INCLUDE (total_allocations, ...) makes every counter UPDATE non-HOT (new entries in every index, more WAL, index growth) |")
    m="168-hour window, custom plan: BRIN used: ${AN_PLANBRIN[seed168]:-?} (${AN_PLAN[seed168]:-?}); with vs without BRIN $(an_cmp tl_seed_big@tl_brin tl_seed_big@tl_none). Prepared, generic plan: BRIN used: ${AN_PLANBRIN[seed168gen]:-?} (${AN_PLAN[seed168gen]:-?}); with vs without $(an_cmp tl_seed_gen_big@tl_brin tl_seed_gen_big@tl_none). 24-hour window, custom plan: BRIN used: ${AN_PLANBRIN[seed24]:-?}; with vs without $(an_cmp tl_seed24_big@tl_brin tl_seed24_big@tl_none). The btrees it replaces, 168 h / 24 h: (assigned_at) $(an_ms "$(an_lat tl_seed_big@tl_bt_at)") / $(an_ms "$(an_lat tl_seed24_big@tl_bt_at)") ms, (experiment_id, assigned_at) $(an_ms "$(an_lat tl_seed_big@tl_bt_exp_at)") / $(an_ms "$(an_lat tl_seed24_big@tl_bt_exp_at)") ms. abt_timeline(168 h) with BRIN / none / (assigned_at) / (experiment_id, assigned_at): $(an_ms "$(an_lat tl_abt_big@tl_brin)") / $(an_ms "$(an_lat tl_abt_big@tl_none)") / $(an_ms "$(an_lat tl_abt_big@tl_bt_at)") / $(an_ms "$(an_lat tl_abt_big@tl_bt_exp_at)") ms"
    if [ "${AN_PLANBRIN[seed168]:-}" = no ]; then
        v="168 h, custom plan: not used (the planner picks the same plan with and without it; the difference is noise)"
    else
        v="168 h, custom plan: $(an_verdict tl_seed_big@tl_brin tl_seed_big@tl_none 90 90)"
    fi
    v+="; 168 h prepared: $(an_verdict tl_seed_gen_big@tl_brin tl_seed_gen_big@tl_none 90 90)"
    if [ "${AN_PLANBRIN[seed24]:-}" = no ]; then
        v+="; 24 h: not used by the planner"
    else
        v+="; 24 h: $(an_verdict tl_seed24_big@tl_brin tl_seed24_big@tl_none 90 90)"
    fi
    v+=". Heap in assigned_at order (${AN_BRINSPAN[A]:-?}). After VACUUM and a day of new traffic (${AN_BRINSPAN[D]:-?}): 24 h with BRIN vs without $(an_cmp tl_seed24_big@d_seed tl_seed24_big@d_none): $(an_verdict tl_seed24_big@d_seed tl_seed24_big@d_none 90 90)"
    AN_IMPACT+=("| BRIN idx_assignments_assigned_at_brin (timeline) | 90% faster analytics | $m | $v |")
    m="seed experiment list (random one of 500 accounts, 10,000 experiments): partial vs no index $(an_cmp sd_list@el_cov sd_list@list_none); partial vs a full btree (user_id, created_at DESC) $(an_cmp sd_list@el_cov sd_list@list_full)"
    AN_IMPACT+=("| partial index idx_experiments_active | 40-60% faster experiment list | $m | vs no index: $(an_verdict sd_list@el_cov sd_list@list_none 40 60); vs the full btree: $(an_verdict sd_list@el_cov sd_list@list_full 40 60) |")
    m="seed lookup on an-big, 1 client: prepared vs simple $(an_cmp sd_lookup_prep@seed sd_lookup_simple@seed); prepared vs extended (unnamed statements, what most drivers send) $(an_cmp sd_lookup_prep@seed sd_lookup_ext@seed)"
    AN_IMPACT+=("| prepared statements | 10-20% less latency | $m | vs simple: $(an_verdict sd_lookup_prep@seed sd_lookup_simple@seed 10 20); vs extended: $(an_verdict sd_lookup_prep@seed sd_lookup_ext@seed 10 20) |")
    m="proxy (pool sizes were not measured): seed lookup, 1 client, simple protocol, persistent connection vs a new connection per transaction (pgbench -C) $(an_cmp sd_lookup_simple@seed sd_lookup_connect@seed)"
    AN_IMPACT+=("| pool tuning | 5-10% | $m | keeping connections: $(an_verdict sd_lookup_simple@seed sd_lookup_connect@seed 5 10); what pool sizing adds on top was not measured |")
}

# Prints the analytics tables (called by bench/run with the results).
an_print_results() {
    [ "${#AN_ROWS[@]}" -gt 0 ] || return 0
    # shellcheck disable=SC2016  # literal backquotes (markdown)
    printf '\nabtest analytics (`bench/run %s%s`, %s; pgbench -n, runs of %s s (%s s for the seed 168-hour timeline query), interleaved in rounds (every other round in reverse order; blocks A and B %s rounds, C and D %s), CHECKPOINT before each run; latency = median of the runs, ratio = ratio of the medians; absolute times are noisy, ratios are what counts)\n\n' \
        "$MODE" "$([ "$QUICK" = 1 ] && echo ' --quick')" "$GIT_REV" "$AN_FAST" "$AN_SLOW" "$AN_ROUNDS_AB" "$ROUNDS"
    echo '| name | clients | protocol | latency ms | ratio | target | PASS/FAIL |'
    echo '| --- | ---: | --- | ---: | --- | --- | --- |'
    printf '%s\n' "${AN_ROWS[@]}"
    printf '\nThe seed'"'"'s expected gains, measured in the same run ("-N%% latency" = N%% faster)\n\n'
    echo '| optimisation | seed expected | measured | verdict |'
    echo '| --- | --- | --- | --- |'
    printf '%s\n' "${AN_IMPACT[@]}"
    printf '\nPlans (EXPLAIN ANALYZE, one execution each; full plans in plans.txt)\n\n'
    echo '| query | settings | scans | BRIN used | execution ms |'
    echo '| --- | --- | --- | --- | ---: |'
    printf '%s\n' "${AN_PLANSUM[@]}"
}
