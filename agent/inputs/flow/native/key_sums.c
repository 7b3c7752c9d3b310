/* Sums of bytes, packets and flows per key (high, low, tag): an open-addressing hash table
 * whose slots are the rows themselves (one cache line per lookup, asked for in advance).
 *
 * Every array belongs to the caller (numpy arrays of KeySums); nothing is allocated here.
 * A table is
 *   store (nslots, 8) uint64: rows at the slot of their key's hash (linear probing): high, low,
 *                             tag, bytes, packets, flows (sums, wrapping), the zone of the key's
 *                             first row (int32 as int64 bits), and a mark: a row is held when
 *                             its mark is the table's generation (so a table is emptied by
 *                             moving to the next generation: nothing to clear);
 *   state [0] int64:          the number of rows (keys) held, at most cap;
 *   state [1] int64:          the generation, >= 1 (a zeroed store holds nothing).
 * nslots is a power of two of at least 2 cap, so the load factor stays at most one half.
 * Adding stops at the first row whose key is new when the table is full and returns where it
 * stopped: the caller moves the rows to a larger store (ks_move) and calls again.
 *
 * ks_rollup adds a whole batch of flow records to the rollup's two tables (talkers, by address
 * and direction; destinations, by external address and zone) and to its sums per zone,
 * direction and application in one pass, the applications classified on the way. */

#include <stddef.h>
#include <stdint.h>

#define KS_BAD (-1)
#define ROW 8
#define HIGH 0
#define LOW 1
#define TAG 2
#define SUMS 3
#define ZONE 6
#define MARK 7
/* records looked ahead: the rows of record i + AHEAD are asked for at record i */
#define AHEAD 16

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

typedef struct {
    uint64_t *store;
    uint64_t mask;
    int64_t cap;
    int64_t count;
    uint64_t generation;
    uint64_t seed;
} table_t;

static uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    x *= UINT64_C(0xd6e8feb86659fd93);
    x ^= x >> 32;
    return x;
}

static uint64_t hash3(uint64_t high, uint64_t low, uint64_t tag, uint64_t seed)
{
    return mix(mix(high ^ seed) ^ low ^ (tag << 56) ^ (tag >> 8));
}

static int valid_shape(int64_t nslots, int64_t cap, int64_t count)
{
    if (cap < 1 || cap > INT32_MAX || count < 0 || count > cap)
        return 0;
    if (nslots < 2 * cap || (nslots & (nslots - 1)) != 0)
        return 0;
    return 1;
}

static int open_table(table_t *t, uint64_t *store, int64_t nslots, int64_t cap,
                      const int64_t *state, uint64_t seed)
{
    if (store == NULL || state == NULL || state[1] < 1 || !valid_shape(nslots, cap, state[0]))
        return 0;
    t->store = store;
    t->mask = (uint64_t)nslots - 1;
    t->cap = cap;
    t->count = state[0];
    t->generation = (uint64_t)state[1];
    t->seed = seed;
    return 1;
}

/* The hash of a key, its first row's cache line asked for in advance. */
static uint64_t hint(const table_t *t, uint64_t high, uint64_t low, uint64_t tag)
{
    uint64_t h = hash3(high, low, tag, t->seed);
    PREFETCH(t->store + (h & t->mask) * ROW);
    return h;
}

/* The row of key (high, low, tag) of hash h, a new one if it is not held yet; NULL when the
 * table is full (nothing changed). */
static uint64_t *row_at(table_t *t, uint64_t h, uint64_t high, uint64_t low, uint64_t tag,
                        int32_t zone)
{
    uint64_t at = h & t->mask;
    for (uint64_t probes = 0; probes <= t->mask; probes++) {
        uint64_t *row = t->store + at * ROW;
        if (row[MARK] != t->generation) {
            if (t->count >= t->cap)
                return NULL;
            t->count++;
            row[HIGH] = high;
            row[LOW] = low;
            row[TAG] = tag;
            row[SUMS] = row[SUMS + 1] = row[SUMS + 2] = 0;
            row[ZONE] = (uint64_t)(int64_t)zone;
            row[MARK] = t->generation;
            return row;
        }
        if (row[HIGH] == high && row[LOW] == low && row[TAG] == tag)
            return row;
        at = (at + 1) & t->mask;
    }
    return NULL;
}

static void add_to(uint64_t *sums, uint64_t nbytes, uint64_t packets, uint64_t flows)
{
    sums[0] += nbytes;
    sums[1] += packets;
    sums[2] += flows;
}

/* Adds rows start .. n - 1 of a batch (values: (3, n), bytes, packets, flows; zone: n values,
 * or nzone == 0 for none, stored as 0). Returns the row it stopped at (n when done; less when
 * the table is full) or KS_BAD for bad arguments. */
int64_t ks_add(uint64_t *store, int64_t nslots, int64_t cap, int64_t *state, uint64_t seed,
               const uint64_t *high, const uint64_t *low, const uint64_t *tag,
               const int32_t *zone, int64_t nzone, const uint64_t *values, int64_t n,
               int64_t start)
{
    table_t t;
    if (!open_table(&t, store, nslots, cap, state, seed))
        return KS_BAD;
    if (n < 0 || start < 0 || start > n || (nzone != 0 && nzone != n))
        return KS_BAD;
    if (n > 0 && (high == NULL || low == NULL || tag == NULL || values == NULL))
        return KS_BAD;
    if (nzone != 0 && zone == NULL)
        return KS_BAD;
    uint64_t ahead[AHEAD]; /* hashes of rows i .. i + AHEAD - 1, at j % AHEAD */
    for (int64_t j = start; j < n && j < start + AHEAD; j++)
        ahead[j % AHEAD] = hint(&t, high[j], low[j], tag[j]);
    int64_t i = start;
    for (; i < n; i++) {
        uint64_t h = ahead[i % AHEAD];
        if (i + AHEAD < n)
            ahead[i % AHEAD] = hint(&t, high[i + AHEAD], low[i + AHEAD], tag[i + AHEAD]);
        uint64_t *row = row_at(&t, h, high[i], low[i], tag[i], nzone ? zone[i] : 0);
        if (row == NULL)
            break;
        add_to(row + SUMS, values[i], values[n + i], values[2 * n + i]);
    }
    state[0] = t.count;
    return i;
}

/* Moves the rows held in ``from`` (from_nslots rows, state from_state) into the empty table
 * ``to`` (zeroed: to_nslots rows for cap keys, its state to_state, generation >= 1, count 0).
 * Returns 0, or KS_BAD for bad arguments, a row the new table has no room for, or repeated
 * keys. */
int64_t ks_move(const uint64_t *from, int64_t from_nslots, const int64_t *from_state,
                uint64_t *to, int64_t to_nslots, int64_t cap, int64_t *to_state, uint64_t seed)
{
    table_t t;
    if (from == NULL || from_state == NULL || from_state[1] < 1 || from_nslots < 1
        || (from_nslots & (from_nslots - 1)) != 0)
        return KS_BAD;
    if (!open_table(&t, to, to_nslots, cap, to_state, seed) || t.count != 0)
        return KS_BAD;
    uint64_t generation = (uint64_t)from_state[1];
    for (int64_t r = 0; r < from_nslots; r++) {
        const uint64_t *row = from + (uint64_t)r * ROW;
        if (row[MARK] != generation)
            continue;
        int64_t before = t.count;
        uint64_t *moved = row_at(&t, hash3(row[HIGH], row[LOW], row[TAG], seed), row[HIGH],
                                 row[LOW], row[TAG], 0);
        if (moved == NULL || t.count == before)
            return KS_BAD;
        for (int w = SUMS; w < MARK; w++)
            moved[w] = row[w];
    }
    to_state[0] = t.count;
    return 0;
}

/* The rollup's sums per (zone, direction, app), flattened ((zone * 2 + direction) * napps + app)
 * * 3 + (bytes, packets, flows), for zones 0 .. nzones - 1. */
typedef struct {
    uint64_t *sums;
    uint64_t napps;
} apps_t;

enum { DIR_IN = 0, DIR_OUT = 1 };

/* The lookups of a record's zoned side: its talker key's hash and, when the peer has no zone,
 * the peer's destination key's hash. */
typedef struct {
    uint64_t talker;
    uint64_t destination;
} side_hashes_t;

/* The zoned side (zone >= 0) of a record: its app sums, its talker row and, when the peer has
 * no zone, the peer's destination row. 0 when a table is full. */
static int add_side(const apps_t *a, table_t *talkers, table_t *destinations,
                    side_hashes_t hashes, int32_t zone, uint64_t direction, uint64_t high,
                    uint64_t low, int32_t peer_zone, uint64_t peer_high, uint64_t peer_low,
                    uint64_t app, uint64_t nbytes, uint64_t packets)
{
    uint64_t slot = (((uint64_t)zone * 2 + direction) * a->napps + app) * 3;
    add_to(a->sums + slot, nbytes, packets, 1);
    uint64_t *row = row_at(talkers, hashes.talker, high, low, direction, zone);
    if (row == NULL)
        return 0;
    add_to(row + SUMS, nbytes, packets, 1);
    if (peer_zone < 0) {
        row = row_at(destinations, hashes.destination, peer_high, peer_low,
                     (uint64_t)(int64_t)zone, 0);
        if (row == NULL)
            return 0;
        add_to(row + SUMS, nbytes, packets, 1);
    }
    return 1;
}

/* The hashes of one side of a record (zone >= 0), their rows asked for in advance. */
static side_hashes_t hint_side(const table_t *talkers, const table_t *destinations, int32_t zone,
                               uint64_t direction, uint64_t high, uint64_t low, int32_t peer_zone,
                               uint64_t peer_high, uint64_t peer_low)
{
    side_hashes_t out = {hint(talkers, high, low, direction), 0};
    if (peer_zone < 0)
        out.destination = hint(destinations, peer_high, peer_low, (uint64_t)(int64_t)zone);
    return out;
}

/* The hashes of record j's source (out) and destination (in) sides, at sides[0] and sides[1]
 * (zeros for a side with no zone: not looked up). */
static void hint_record(const table_t *talkers, const table_t *destinations,
                        side_hashes_t *sides, const int32_t *zone, const uint64_t *high,
                        const uint64_t *low, int64_t n, int64_t j)
{
    int32_t src = zone[j], dst = zone[n + j];
    side_hashes_t none = {0, 0};
    sides[0] = src >= 0 ? hint_side(talkers, destinations, src, DIR_OUT, high[j], low[j], dst,
                                    high[n + j], low[n + j])
                        : none;
    sides[1] = dst >= 0 ? hint_side(talkers, destinations, dst, DIR_IN, high[n + j], low[n + j],
                                    src, high[j], low[j])
                        : none;
}

/* The application of a record: of its destination port, else of its source port, for a
 * protocol with ports (port_row[proto] >= 0: that row of port_apps, 65,536 entries each),
 * else of its protocol alone (proto_apps, 256 entries); 0 is "other". */
static uint16_t app_of(const uint16_t *port_apps, const int16_t *port_row,
                       const uint16_t *proto_apps, uint8_t proto, uint16_t src_port,
                       uint16_t dst_port)
{
    int16_t r = port_row[proto];
    if (r >= 0) {
        const uint16_t *table = port_apps + (uint64_t)r * 65536;
        uint16_t found = table[dst_port] ? table[dst_port] : table[src_port];
        if (found)
            return found;
    }
    return proto_apps[proto];
}

/* Records start .. n - 1 of a batch into the rollup: zone (2, n) int32 (sources, then
 * destinations; < 0: no zone), high and low (2, n) the key halves of the same addresses,
 * nbytes and packets (n). Each record's application comes from proto, src_port and dst_port
 * (n each) through the tables port_apps (nrows, 65536), port_row (256: a protocol's row, < 0
 * for none) and proto_apps (256), and is written to app (n, scratch). Records with no zoned
 * side are counted in unzoned[0]. Returns the record it stopped at (n when done; less when a
 * table may not have room for the next record: grow it and call again), KS_BAD for bad
 * arguments (a zone, a table row or an app out of range included; then nothing is added). */
int64_t ks_rollup(uint64_t *t_store, int64_t t_nslots, int64_t t_cap, int64_t *t_state,
                  uint64_t t_seed, uint64_t *d_store, int64_t d_nslots, int64_t d_cap,
                  int64_t *d_state, uint64_t d_seed,
                  uint64_t *app_sums, int64_t app_len, int64_t nzones, int64_t napps,
                  const uint16_t *port_apps, int64_t nrows, const int16_t *port_row,
                  const uint16_t *proto_apps, const int32_t *zone, const uint64_t *high,
                  const uint64_t *low, const uint8_t *proto, const uint16_t *src_port,
                  const uint16_t *dst_port, uint16_t *app, const uint64_t *nbytes,
                  const uint64_t *packets, int64_t n, int64_t start, int64_t *unzoned)
{
    table_t talkers, destinations;
    if (!open_table(&talkers, t_store, t_nslots, t_cap, t_state, t_seed)
        || !open_table(&destinations, d_store, d_nslots, d_cap, d_state, d_seed))
        return KS_BAD;
    if (t_cap < 2 || n < 0 || start < 0 || start > n || nzones < 0 || napps < 1
        || nzones > INT32_MAX || napps > UINT16_MAX + 1 || app_len < nzones * 2 * napps * 3
        || nrows < 0 || nrows > INT16_MAX)
        return KS_BAD;
    if (app_sums == NULL || unzoned == NULL || port_row == NULL || proto_apps == NULL
        || (nrows > 0 && port_apps == NULL)
        || (n > 0 && (zone == NULL || high == NULL || low == NULL || proto == NULL
                      || src_port == NULL || dst_port == NULL || app == NULL || nbytes == NULL
                      || packets == NULL)))
        return KS_BAD;
    for (int p = 0; p < 256; p++)
        if (port_row[p] >= nrows)
            return KS_BAD;
    for (int64_t i = start; i < n; i++) {
        app[i] = app_of(port_apps, port_row, proto_apps, proto[i], src_port[i], dst_port[i]);
        if (zone[i] >= nzones || zone[n + i] >= nzones || app[i] >= napps)
            return KS_BAD;
    }
    const apps_t apps = {app_sums, (uint64_t)napps};
    side_hashes_t ahead[2 * AHEAD]; /* the side hashes of record j at 2 (j % AHEAD) */
    for (int64_t j = start; j < n && j < start + AHEAD; j++)
        hint_record(&talkers, &destinations, ahead + 2 * (j % AHEAD), zone, high, low, n, j);
    int64_t i = start;
    for (; i < n; i++) {
        if (talkers.count > talkers.cap - 2 || destinations.count >= destinations.cap)
            break;
        side_hashes_t *sides = ahead + 2 * (i % AHEAD);
        side_hashes_t src_hashes = sides[0], dst_hashes = sides[1];
        if (i + AHEAD < n)
            hint_record(&talkers, &destinations, sides, zone, high, low, n, i + AHEAD);
        int32_t src_zone = zone[i], dst_zone = zone[n + i];
        if (src_zone < 0 && dst_zone < 0) {
            unzoned[0]++;
            continue;
        }
        /* the room checked above means a side cannot fail: if one does, stop as bad */
        if ((src_zone >= 0
             && !add_side(&apps, &talkers, &destinations, src_hashes, src_zone, DIR_OUT,
                          high[i], low[i], dst_zone, high[n + i], low[n + i], app[i],
                          nbytes[i], packets[i]))
            || (dst_zone >= 0
                && !add_side(&apps, &talkers, &destinations, dst_hashes, dst_zone, DIR_IN,
                             high[n + i], low[n + i], src_zone, high[i], low[i], app[i],
                             nbytes[i], packets[i]))) {
            i = KS_BAD;
            break;
        }
    }
    t_state[0] = talkers.count;
    d_state[0] = destinations.count;
    return i;
}

/* The index of the last of the k sorted starts that is <= the key, as numpy's
 * searchsorted(starts, key, side="right") - 1 (k - 1 when none is: numpy's index -1). */
static int64_t last_start4(const uint32_t *starts, int64_t k, uint32_t key)
{
    int64_t lo = 0, hi = k;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (starts[mid] <= key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? k - 1 : lo - 1;
}

static int64_t last_start6(const uint64_t *high, const uint64_t *low, int64_t k, uint64_t kh,
                           uint64_t kl)
{
    int64_t lo = 0, hi = k;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (high[mid] < kh || (high[mid] == kh && low[mid] <= kl))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? k - 1 : lo - 1;
}

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v = (v << 8) | p[b];
    return v;
}

/* Zone refs of n IPv4 values: blocks (nblocks = 65536) per /16 block, or split (-2) for the
 * blocks that intervals start inside, then refs of the interval (starts, k, sorted) holding the
 * value. Returns 0, KS_BAD for bad arguments. */
int64_t zt_refs4(const uint32_t *values, int64_t n, const int32_t *blocks, int64_t nblocks,
                 const uint32_t *starts, const int32_t *refs, int64_t k, int32_t split,
                 int32_t *out)
{
    if (n < 0 || k < 1 || nblocks != 65536 || blocks == NULL || starts == NULL || refs == NULL
        || (n > 0 && (values == NULL || out == NULL)))
        return KS_BAD;
    for (int64_t i = 0; i < n; i++) {
        int32_t ref = blocks[values[i] >> 16];
        out[i] = ref == split ? refs[last_start4(starts, k, values[i])] : ref;
    }
    return 0;
}

/* Zone refs of n IPv6 keys (16 bytes each, big-endian): refs of the interval (starts given as
 * their high and low halves, k, sorted) holding the key. Returns 0, KS_BAD for bad arguments. */
int64_t zt_refs6(const uint8_t *keys, int64_t n, const uint64_t *high, const uint64_t *low,
                 const int32_t *refs, int64_t k, int32_t *out)
{
    if (n < 0 || k < 1 || high == NULL || low == NULL || refs == NULL
        || (n > 0 && (keys == NULL || out == NULL)))
        return KS_BAD;
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *key = keys + 16 * i;
        out[i] = refs[last_start6(high, low, k, load_be64(key), load_be64(key + 8))];
    }
    return 0;
}
