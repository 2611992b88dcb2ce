-- kizuna: the correlation state store's server side (core/state-redis.c, docs/STATE.md).
-- One script, loaded once per connection (SCRIPT LOAD, again after NOSCRIPT) and called
-- with EVALSHA. Every call touches the keys of one shard only ({prefix:NN}), so each call is
-- atomic and lives in one Redis Cluster slot. The semantics are those of state-memory.c
-- (docs/CORRELATION.md); this file ports its operations line by line, plus:
--   * event identities: per group and source (topic/partition or file) and referenced rule,
--     the highest (time, position) applied, and per group the newest time applied. A
--     group's events reach it in time order (it lives in one partition, released in time
--     order), so an event at or below its mark, or older than the group's newest, was
--     applied already or absorbed (a replay after a crash): no-op.
--   * decisions are kept with the identity of the event that caused them, so a replayed
--     triggering event returns the same decision (same alert id) and no second one.
--   * timers (windows evaluated at their close, absence deadlines) are in the shard's ZSET;
--     a later event of the group fires its due timer first (lazily), op F fires the ones the
--     shared clock has passed. Whoever fires a timer removes it: it fires once.
--
-- KEYS[1] the group ({prefix:NN}:g:RULETAG:groupkey), KEYS[2] the shard's timer ZSET,
-- KEYS[3] the group's decisions ({prefix:NN}:d:RULETAG:groupkey), a list read by replays.
-- ARGV[1] op: W window_add, D distinct_add, S sequence_advance, A absence_touch,
--             M several groups of one shard (see the end of this file),
--             F fire due timers (KEYS[1] = timer ZSET, KEYS[2] outbox; ARGV[2] upto,
--               ARGV[3] limit, ARGV[4] claim ms, ARGV[5] forget ms), K acknowledge fired
--               timers (outbox),
--             C clock (KEYS[1] = clock hash; ARGV[2] idle ms, ARGV[3] forget ms, then field,
--               watermark, idle triples: sets them, returns the shared clock, see below),
--             V version.
-- ARGV[2] the slot's spec: kind,agg,at_close,T,S,has_lo,lo_strict,lo,has_hi,hi_strict,hi,
--         has_neq,neq,nsteps,maxe,margin_ms (times in microseconds).
-- ARGV[3] n sources, then n pairs: name, partition; then the number of events.
-- Then per event: time, source index (1..n; 0 unknown) * 16 + the index of the referenced
-- rule it matched (0..15), position, and for D/S/A/W-with-numbers one more: the value (D),
-- step (S, A, D over steps) or number (W sum/avg). The identity of an event for a group is
-- (source, referenced rule, time, position): one line that matches two referenced rules is
-- two events, and each (source, rule) stream reaches the group in (time, position) order.
--
-- Reply: { flags, truncated, suppression, decision, decision, ... } with one flag per event:
--   '.' applied  'a' absorbed  'r' replay (no-op)  'F' fired  'f' replayed decision
--   'n' nothing to do (a later step with nothing started)
-- and each decision { kind 'E' (event) | 'T' (timer) | 'X' (timer absorbed) | 'N' (timer
-- evaluated, no alert; op F only), event index
-- (0 for op F), time, window_start, first, last, count, has_value, value (%.17g),
-- nev, nev * { time, source name or false, partition, position, step, has_num, num,
-- has_val, val } } followed, for op F, by the group's key and an acknowledgement token
-- ('' when there is nothing to acknowledge). suppression: false, or
-- { until, and the event whose decision set it: time, position, rule index, source,
-- partition } (op F replies have no suppression element).

local NONE = false
local MAXEV = 10
local MAXSRC = 8
local MAXDEC = 8

local SPECS = {} -- specs parsed during this call (an M call's groups share them)

local function parse_spec(s)
    if SPECS[s] then return SPECS[s] end
    local f = {}
    for x in string.gmatch(s, '[^,]+') do
        f[#f + 1] = tonumber(x)
    end
    local S = {
        kind = f[1], agg = f[2], at_close = f[3] == 1, T = f[4], S = f[5],
        has_lo = f[6] == 1, lo_strict = f[7] == 1, lo = f[8],
        has_hi = f[9] == 1, hi_strict = f[10] == 1, hi = f[11],
        has_neq = f[12] == 1, neq = f[13], nsteps = f[14], maxe = f[15], margin = f[16],
        raw = s,
    }
    SPECS[s] = S
    return S
end

local function cond_holds(S, x)
    if S.has_lo then
        if S.lo_strict then
            if not (x > S.lo) then return false end
        elseif not (x >= S.lo) then
            return false
        end
    end
    if S.has_hi then
        if S.hi_strict then
            if not (x < S.hi) then return false end
        elseif not (x <= S.hi) then
            return false
        end
    end
    if S.has_neq and x == S.neq then
        return false
    end
    return true
end

local function fmt(x)
    return string.format('%.17g', x)
end

-- Sources of a group: parallel arrays of name and partition; marks (time, position) keyed by
-- source index * 16 + referenced rule.
local function mark_clear(G, i)
    for r = 0, 15 do
        G.mt[i * 16 + r], G.mp[i * 16 + r] = nil, nil
    end
end

local function mark_oldest(G, i)
    local o = nil
    for r = 0, 15 do
        local m = G.mt[i * 16 + r]
        if m and (o == nil or m < o) then o = m end
    end
    return o or -math.huge
end

local function source_index(G, name, part, op, S)
    local sn, sp = G.sn, G.sp
    for i = 1, #sn do
        if sn[i] == name and sp[i] == part then
            return i
        end
    end
    if #sn >= MAXSRC then
        -- Forget the source with the oldest mark that no entry refers to (rare: a group
        -- fed from more than MAXSRC sources).
        -- entries name their source at offset off of each stride-long entry
        local used = {}
        local e, st, off = G.e, 3, 1
        if op == 'W' and S.agg ~= 0 then st = 4 end
        if op == 'D' then st, off = 5, 2 end
        if e then
            for j = 1 + off, #e, st do used[e[j]] = true end
        end
        if G.tr then used[G.tr[4]] = true end
        local victim, vt = nil, nil
        for j = 1, #sn do
            local mt = mark_oldest(G, j)
            if not used[j] and (vt == nil or mt < vt) then
                victim, vt = j, mt
            end
        end
        if victim then
            sn[victim], sp[victim] = name, part
            mark_clear(G, victim)
            return victim
        end
    end
    local i = #sn + 1
    sn[i], sp[i] = name, part
    return i
end

local function evidence(G, out, t, si, pos, step, has_num, num, has_val, val)
    local n = out[10]
    if n >= MAXEV then return end
    out[10] = n + 1
    local name, part = false, -1
    if si and si > 0 then
        name, part = G.sn[si], G.sp[si]
    end
    local k = #out
    out[k + 1], out[k + 2], out[k + 3], out[k + 4] = t, name, part, pos
    out[k + 5], out[k + 6], out[k + 7] = step, has_num and 1 or 0, has_num and fmt(num) or ''
    out[k + 8], out[k + 9] = has_val and 1 or 0, has_val and val or ''
end

local function decision(kind, idx, t, ws, first, last, count, has_value, value)
    return { kind, idx, t, ws, first, last, count, has_value and 1 or 0,
             has_value and fmt(value) or '', 0 }
end


local function set_timer(G, key, zkey, d)
    G.dl = d
    redis.call('ZADD', zkey, d, key)
end

local function clear_timer(G, key, zkey)
    if G.dl then
        G.dl = nil
        redis.call('ZREM', zkey, key)
    end
end

-- The group holds nothing any more (memory: the group is freed); marks and decisions stay.
local function clear_state(G, key, zkey)
    G.e, G.a, G.sum, G.st, G.su = nil, nil, nil, nil, nil
    clear_timer(G, key, zkey)
end

local function after_fire(G, S, key, zkey, t, ws)
    local untl
    if S.S >= 0 then untl = t + S.S else untl = ws + S.T end
    G.e, G.a, G.sum, G.st = nil, nil, nil, nil
    if untl <= t then
        clear_state(G, key, zkey)
        return
    end
    G.su = untl
end

local function window_value(S, count, sum)
    if S.agg == 1 then return sum end
    if S.agg == 2 then
        if count > 0 then return sum / count end
        return 0
    end
    return count
end

-- Ring of the last MAXEV (or maxe) entries of stride st in G.e.
local function ring_push(G, st, maxe, ...)
    local e = G.e
    local n = #e / st
    if n >= maxe then
        for j = 1, st do table.remove(e, 1) end
    end
    local v = { ... }
    local k = #e
    for j = 1, st do e[k + j] = v[j] end
end

-- --- timers ---

local function fire_timer(G, S, key, zkey, d, idx)
    clear_timer(G, key, zkey)
    local a = G.a or { 0, 0, d, d }
    local e = G.e or {}
    if S.kind == 3 then
        local heartbeat = S.nsteps == 1
        if G.su and d < G.su then
            G.a, G.e = nil, nil
            return { 'X', idx, d, 0, 0, 0, 0, 0, '', 0 }
        end
        local out = decision('T', idx, d, a[3], a[3], a[4], heartbeat and 0 or a[1], false, 0)
        for j = 1, #e, 3 do
            evidence(G, out, e[j], e[j + 1], e[j + 2], 0, false, 0, false, '')
        end
        G.su = nil
        if S.S > 0 then
            G.e, G.a = nil, nil
            G.su = d + S.S
        else
            clear_state(G, key, zkey)
        end
        return out
    end
    local count, x
    if S.kind == 1 then
        count = #e / 5
        x = count
    else
        count = a[1]
        x = window_value(S, a[1], a[2])
    end
    if not cond_holds(S, x) then
        clear_state(G, key, zkey)
        return nil
    end
    local out = decision('T', idx, d, a[3], a[3], a[4], count,
                         S.kind == 1 or S.agg ~= 0, x)
    if S.kind == 1 then
        local from = count > MAXEV and count - MAXEV or 0
        for j = from * 5 + 1, #e, 5 do
            if S.nsteps > 0 then
                evidence(G, out, e[j + 1], e[j + 2], e[j + 3], e[j], false, 0, false, '')
            else
                evidence(G, out, e[j + 1], e[j + 2], e[j + 3], 0, false, 0, true, e[j + 4])
            end
        end
    else
        local st = S.agg == 0 and 3 or 4
        for j = 1, #e, st do
            evidence(G, out, e[j], e[j + 1], e[j + 2], 0, st == 4, e[j + 3] or 0, false, '')
        end
    end
    after_fire(G, S, key, zkey, d, a[3])
    return out
end

-- --- STATE_WINDOW ---

local function window_add(G, S, key, zkey, t, si, pos, num, idx, res)
    if G.su and t < G.su then return 'a' end
    G.su = nil
    if S.at_close then
        local a = G.a
        if not a or a[1] == 0 then
            a = { 0, 0, t, t }
            G.a = a
            G.e = {}
            set_timer(G, key, zkey, t + S.T)
        end
        a[1] = a[1] + 1
        a[2] = a[2] + num
        a[4] = t
        if S.agg == 0 then
            ring_push(G, 3, MAXEV, t, si, pos)
        else
            ring_push(G, 4, MAXEV, t, si, pos, num)
        end
        return '.'
    end
    local st = S.agg == 0 and 3 or 4
    local e = G.e or {}
    G.e = e
    local sum = G.sum or 0
    -- events e with e + T <= t leave the window first
    local drop = 0
    while drop * st < #e and e[drop * st + 1] + S.T <= t do
        if st == 4 then sum = sum - e[drop * st + 4] end
        drop = drop + 1
    end
    if drop > 0 then
        local ne = {}
        for j = drop * st + 1, #e do ne[#ne + 1] = e[j] end
        e = ne
        G.e = e
    end
    if #e == 0 then sum = 0 end
    if #e / st >= S.maxe then
        if st == 4 then sum = sum - e[4] end
        for j = 1, st do table.remove(e, 1) end
        res.trunc = res.trunc + 1
    end
    -- normally at the end; an older event (another partition) goes to its place
    local at = #e + 1
    while at > 1 and e[at - st] > t do at = at - st end
    table.insert(e, at, t)
    table.insert(e, at + 1, si)
    table.insert(e, at + 2, pos)
    if st == 4 then
        table.insert(e, at + 3, num)
        sum = sum + num
        G.sum = sum
    end
    local n = #e / st
    local x = window_value(S, n, sum)
    if cond_holds(S, x) then
        local first = e[1]
        local out = decision('E', idx, t, first, first, t, n, S.agg ~= 0, x)
        local from = n > MAXEV and n - MAXEV or 0
        for j = from * st + 1, #e, st do
            evidence(G, out, e[j], e[j + 1], e[j + 2], 0, st == 4, e[j + 3] or 0, false, '')
        end
        after_fire(G, S, key, zkey, t, first)
        return 'F', out
    end
    return '.'
end

-- --- STATE_DISTINCT: entries {vh, time, source, position, value (31 bytes)} ---

local function distinct_add(G, S, key, zkey, t, si, pos, v, idx, res)
    if G.su and t < G.su then return 'a' end
    G.su = nil
    local vh, v31
    if S.nsteps > 0 then
        vh = tonumber(v)
        v31 = ''
    else
        v31 = string.sub(v, 1, 31)
        if #v <= 31 then vh = v else vh = v31 .. redis.sha1hex(v) end
    end
    local e = G.e or {}
    G.e = e
    if S.at_close then
        local a = G.a
        if not a or a[1] == 0 then
            a = { 0, 0, t, t }
            G.a = a
            e = {}
            G.e = e
            set_timer(G, key, zkey, t + S.T)
        end
        a[1] = a[1] + 1
        a[4] = t
    else
        local drop = 0
        while drop * 5 < #e and e[drop * 5 + 2] + S.T <= t do drop = drop + 1 end
        if drop > 0 then
            local ne = {}
            for j = drop * 5 + 1, #e do ne[#ne + 1] = e[j] end
            e = ne
            G.e = e
        end
    end
    for j = 1, #e, 5 do
        if e[j] == vh then
            for k = 1, 5 do table.remove(e, j) end
            break
        end
    end
    if #e / 5 >= S.maxe then
        for k = 1, 5 do table.remove(e, 1) end
        res.trunc = res.trunc + 1
    end
    local k = #e
    e[k + 1], e[k + 2], e[k + 3], e[k + 4], e[k + 5] = vh, t, si, pos, v31
    if S.at_close then return '.' end
    local n = #e / 5
    if cond_holds(S, n) then
        local first = e[2]
        local out = decision('E', idx, t, first, first, t, n, true, n)
        local from = n > MAXEV and n - MAXEV or 0
        for j = from * 5 + 1, #e, 5 do
            if S.nsteps > 0 then
                evidence(G, out, e[j + 1], e[j + 2], e[j + 3], e[j], false, 0, false, '')
            else
                evidence(G, out, e[j + 1], e[j + 2], e[j + 3], 0, false, 0, true, e[j + 4])
            end
        end
        after_fire(G, S, key, zkey, t, first)
        return 'F', out
    end
    return '.'
end

-- --- STATE_SEQUENCE: G.st[k] the start of the latest partial match of steps 0..k, G.e the
-- positions of its steps (level k holds k + 1 entries of {time, source, position}) ---

local function sequence_advance(G, S, key, zkey, t, si, pos, k, idx, res)
    local n = S.nsteps
    if k >= n then return 'n' end
    if not G.st and not G.su and k ~= 0 then return 'n' end
    if G.su and t < G.su then return 'a' end
    G.su = nil
    local function at(level, i) return (level * (level + 1) / 2 + i) * 3 + 1 end
    local st = G.st
    if not st then
        st = {}
        for j = 1, n do st[j] = NONE end
        G.st = st
        G.e = {}
        for j = 1, at(n, 0) - 1 do G.e[j] = 0 end
    end
    local e = G.e
    for j = 1, n do
        if st[j] and st[j] + S.T <= t then st[j] = NONE end
    end
    if k == 0 then
        st[1] = t
        local p = at(0, 0)
        e[p], e[p + 1], e[p + 2] = t, si, pos
    elseif st[k] and (not st[k + 1] or st[k] >= st[k + 1]) then
        st[k + 1] = st[k]
        for i = 0, k - 1 do
            local from, to = at(k - 1, i), at(k, i)
            e[to], e[to + 1], e[to + 2] = e[from], e[from + 1], e[from + 2]
        end
        local p = at(k, k)
        e[p], e[p + 1], e[p + 2] = t, si, pos
    end
    if st[n] then
        local first = st[n]
        local out = decision('E', idx, t, first, first, t, n, false, 0)
        local from = n > MAXEV and n - MAXEV or 0
        for i = from, n - 1 do
            local p = at(n - 1, i)
            evidence(G, out, e[p], e[p + 1], e[p + 2], i, false, 0, false, '')
        end
        after_fire(G, S, key, zkey, t, first)
        return 'F', out
    end
    for j = 1, n do
        if st[j] then return '.' end
    end
    clear_state(G, key, zkey)
    return '.'
end

-- --- STATE_ABSENCE ---

local function absence_touch(G, S, key, zkey, t, si, pos, step, idx, res)
    local heartbeat = S.nsteps == 1
    if step >= S.nsteps then return 'n' end
    if not heartbeat and step == 1 then
        if not G.dl then return 'n' end
        G.a, G.e = nil, nil
        clear_timer(G, key, zkey)
        if not (G.su and G.su > t) then clear_state(G, key, zkey) end
        return '.'
    end
    if not heartbeat and G.su and t < G.su then return 'a' end
    local a = G.a
    if not G.dl then
        a = { 0, 0, t, t }
        G.a = a
        G.e = {}
        set_timer(G, key, zkey, t + S.T)
    elseif heartbeat then
        set_timer(G, key, zkey, t + S.T)
    end
    a[1] = a[1] + 1
    a[4] = t
    if heartbeat then a[3] = t end
    ring_push(G, 3, heartbeat and 1 or MAXEV, t, si, pos)
    return '.'
end

-- --- storage ---

local function load(key)
    local raw = redis.call('GET', key)
    if raw then
        local G = cmsgpack.unpack(raw)
        G.sn, G.sp, G.mt, G.mp = G.sn or {}, G.sp or {}, G.mt or {}, G.mp or {}
        return G
    end
    return { sn = {}, sp = {}, mt = {}, mp = {} }
end

local function save(G, S, key, lt)
    local needed = lt + S.T
    if G.su and G.su > needed then needed = G.su end
    if G.dl and G.dl > needed then needed = G.dl end
    local ttl = math.floor((needed - lt) / 1000) + S.margin
    if ttl < 1 then ttl = 1 end
    if #G.sn == 0 and not G.e and not G.a and not G.su and not G.dl then
        redis.call('DEL', key)
        return
    end
    if #G.sn == 0 then G.sn, G.sp, G.mt, G.mp = nil, nil, nil, nil end
    redis.call('SET', key, cmsgpack.pack(G), 'PX', ttl)
end

local op = ARGV[1]

if op == 'V' then
    return 'kizuna-state-1'
end

if op == 'C' then
    -- The shared clock. Fields are source|partition|instance, values "watermark server_ms
    -- idle". Per source: the minimum over its fresh (within the idle time), active entries;
    -- if it has only fresh idle entries, it does not hold the clock back; if it has only
    -- stale entries (its reader died and nobody took it over yet), their highest watermark
    -- holds it. The clock is the minimum over the sources that hold it, or the highest
    -- watermark when none does. Entries older than ARGV[3] ms (the TTL margin) are removed:
    -- a source nobody has read for that long stops holding the clock.
    local now = redis.call('TIME')
    local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
    local idle = tonumber(ARGV[2])
    local forget = tonumber(ARGV[3])
    for i = 4, #ARGV - 2, 3 do
        redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. ' ' .. ms .. ' ' .. ARGV[i + 2])
    end
    local all = redis.call('HGETALL', KEYS[1])
    local srcs, hi = {}, false
    for i = 1, #all, 2 do
        local wm, at, fl = string.match(all[i + 1], '^(%S+) (%S+) (%S+)$')
        local src = string.match(all[i], '^(.*)|[^|]*$')
        wm, at = tonumber(wm), tonumber(at)
        if wm and at and src then
            if ms - at > forget then
                redis.call('HDEL', KEYS[1], all[i])
            else
                local p = srcs[src] or {}
                srcs[src] = p
                if hi == false or wm > hi then hi = wm end
                if ms - at <= idle then
                    if fl == '1' then
                        p.idle = true
                    elseif p.active == nil or wm < p.active then
                        p.active = wm
                    end
                elseif p.stale == nil or wm > p.stale then
                    p.stale = wm
                end
            end
        end
    end
    local lo = false
    for _, p in pairs(srcs) do
        local v = p.active
        if v == nil and not p.idle then v = p.stale end
        if v ~= nil and (lo == false or v < lo) then lo = v end
    end
    if lo == false then lo = hi end
    if lo == false then return { false, ms } end
    return { fmt(lo), ms }
end

if op == 'F' then
    -- Fire due timers. A decision that raises an alert goes to the shard's outbox (ZSET,
    -- score: server time) until the caller acknowledges it (op K) once its alert is handed
    -- to the outputs; one older than ARGV[4] ms (its process died first) is given out again
    -- by every round until someone acknowledges it: timer alerts are delivered at least
    -- once. After ARGV[5] ms (the TTL margin) it is dropped.
    local zkey, okey = KEYS[1], KEYS[2]
    local limit = tonumber(ARGV[3])
    local claim = tonumber(ARGV[4])
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    local out = { '', 0 }
    redis.call('ZREMRANGEBYSCORE', okey, '-inf', now - tonumber(ARGV[5]))
    local stale = redis.call('ZRANGEBYSCORE', okey, '-inf', now - claim, 'LIMIT', 0, limit)
    for _, m in ipairs(stale) do
        local dec = cmsgpack.unpack(m)
        dec[#dec + 1] = m
        out[#out + 1] = dec
    end
    local due = redis.call('ZRANGEBYSCORE', zkey, '-inf', ARGV[2], 'WITHSCORES', 'LIMIT', 0,
                           limit)
    for i = 1, #due, 2 do
        local gkey, d = due[i], tonumber(due[i + 1])
        local raw = redis.call('GET', gkey)
        if not raw then
            redis.call('ZREM', zkey, gkey)
        else
            local G = load(gkey)
            if G.dl ~= d or not G.spec then
                redis.call('ZREM', zkey, gkey)
            else
                local S = parse_spec(G.spec)
                local dec = fire_timer(G, S, gkey, zkey, d, 0)
                if not dec then
                    dec = { 'N', 0, d, 0, 0, 0, 0, 0, '', 0 } -- evaluated: no alert
                end
                dec[#dec + 1] = gkey
                if dec[1] == 'T' then
                    local m = cmsgpack.pack(dec)
                    redis.call('ZADD', okey, now, m)
                    dec[#dec + 1] = m
                else
                    dec[#dec + 1] = ''
                end
                out[#out + 1] = dec
                save(G, S, gkey, math.max(G.lt or d, d))
            end
        end
    end
    return out
end

if op == 'K' then
    -- Acknowledge timer decisions (KEYS[1] the shard's outbox, ARGV[2..] their tokens).
    for i = 2, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
    return #ARGV - 1
end

-- W, D, S, A on one group: A[base] = nsrc, then nsrc pairs of sources, the number of
-- events, and the events. Returns the group's reply and the index after its arguments.
local function group_call(key, zkey, dkey, op, spec, A, base)
    local decs = nil
    local S = parse_spec(spec)
    local nsrc = tonumber(A[base])
    local sbase = base + 1 -- sources: A[sbase + 2 (ci - 1)], A[sbase + 2 (ci - 1) + 1]
    local nev = tonumber(A[sbase + 2 * nsrc])
    local ebase = sbase + 2 * nsrc + 1
    local stride = 3
    if op ~= 'W' or S.agg ~= 0 then stride = 4 end
    local G = load(key)
    local gsrc = {}
    local flags = {}
    local out = { '', 0, false }
    local res = { trunc = 0 }
    local lt = G.lt -- newest event applied (nil: none)
    local fn
    if op == 'W' then fn = window_add
    elseif op == 'D' then fn = distinct_add
    elseif op == 'S' then fn = sequence_advance
    else fn = absence_touch end
    if S.at_close or op == 'A' then G.spec = S.raw end

    for i = 1, nev do
        local b = ebase + (i - 1) * stride
        local t, ci, pos = tonumber(A[b]), tonumber(A[b + 1]), tonumber(A[b + 2])
        local ref = ci % 16
        ci = (ci - ref) / 16
        local x = A[b + 3]
        local si = 0
        local mk = 0
        local flag, dec = nil, nil
        local positioned = false
        if ci > 0 then
            local name, part = A[sbase + 2 * (ci - 1)], tonumber(A[sbase + 2 * (ci - 1) + 1])
            si = gsrc[ci]
            if not si then
                si = source_index(G, name, part, op, S)
                gsrc[ci] = si
            end
            positioned = not (part < 0 and pos == 0)
            mk = si * 16 + ref
            local mt = positioned and G.mt[mk]
            -- A group's events arrive in time order (its source, in release order), so one
            -- older than the newest applied is a replay too, whatever stream it belongs to
            -- (the caller may have absorbed it without telling Redis: no mark of it here).
            if positioned and ((G.lt ~= nil and t < G.lt) or
                               (mt and (t < mt or (t == mt and pos <= G.mp[mk])))) then
                -- A replay: the same decisions again (when it took some), or nothing.
                flag = 'r'
                if not decs then
                    decs = redis.call('LRANGE', dkey, 0, -1)
                end
                for _, raw in ipairs(decs) do
                    local d = cmsgpack.unpack(raw)
                    if d[1] == name and d[2] == part and d[3] == pos and d[4] == t and
                       d[5] == ref then
                        for j = 7, #d do
                            d[j][2] = i
                            out[#out + 1] = d[j]
                        end
                        flag = 'f'
                    end
                end
            end
        end
        if not flag then
            local made = {}
            -- A timer of the group that is due before this event fires first.
            if G.dl and G.dl <= t then
                local td = fire_timer(G, S, key, zkey, G.dl, i)
                if td then
                    out[#out + 1] = td
                    if td[1] == 'T' then made[#made + 1] = td end
                end
            end
            local num = 0
            if stride == 4 then
                if op == 'W' then num = tonumber(x) elseif op ~= 'D' then x = tonumber(x) end
            end
            flag, dec = fn(G, S, key, zkey, t, si, pos, op == 'W' and num or x, i, res)
            if dec then
                out[#out + 1] = dec
                made[#made + 1] = dec
            end
            if positioned then
                G.mt[mk], G.mp[mk] = t, pos
                if #made > 0 then
                    -- Decisions live in their own list (read only by replays): the last
                    -- MAXDEC, kept for the TTL margin (wall clock), within which a replay
                    -- after a crash comes.
                    local d = { G.sn[si], G.sp[si], pos, t, ref, 0 }
                    for _, m in ipairs(made) do d[#d + 1] = m end
                    redis.call('RPUSH', dkey, cmsgpack.pack(d))
                    redis.call('LTRIM', dkey, -MAXDEC, -1)
                    redis.call('PEXPIRE', dkey, S.margin + math.floor(S.T / 1000))
                    decs = nil
                    G.tr = { t, pos, ref, si }
                end
            end
            if lt == nil or t > lt then lt = t end
        end
        flags[i] = flag
    end
    G.lt = lt
    if lt == nil then lt = 0 end
    out[1] = table.concat(flags)
    out[2] = res.trunc
    -- The group's suppression, for the caller's cache: until then its events are absorbed
    -- whoever sends them, except a replay of the event whose decision set it (returned).
    if G.su and not S.at_close and (op == 'W' or op == 'D' or op == 'S') then
        local d = G.tr
        if d and G.sn[d[4]] then
            out[3] = { G.su, d[1], d[2], d[3], G.sn[d[4]], G.sp[d[4]] }
        else
            out[3] = { G.su }
        end
    end
    save(G, S, key, lt)
    return out, ebase + nev * stride
end

if op == 'M' then
    -- Several groups of one shard: KEYS[1] the shard's timers, then each group's key and
    -- decisions key; ARGV[2] the number of groups, then each group's op, spec and W/D/S/A
    -- arguments. The reply holds each group's reply in order.
    local n = tonumber(ARGV[2])
    local replies = {}
    local idx = 3
    for g = 1, n do
        local r
        r, idx = group_call(KEYS[2 * g], KEYS[1], KEYS[2 * g + 1], ARGV[idx], ARGV[idx + 1],
                            ARGV, idx + 2)
        replies[g] = r
    end
    return replies
end

return (group_call(KEYS[1], KEYS[2], KEYS[3], op, ARGV[2], ARGV, 3))
