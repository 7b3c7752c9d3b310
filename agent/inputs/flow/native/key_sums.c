/* Sums of bytes, packets and flows per key (high, low, tag): an open-addressing hash table.
 *
 * Every array belongs to the caller (numpy arrays of KeySums); nothing is allocated here.
 * A table is
 *   store (cap, 8) uint64: one row per key, in the order keys were first met: high, low, tag,
 *                          bytes, packets, flows (sums, wrapping), the zone of the key's first
 *                          row (int32 as int64 bits), unused (a row fills one 64-byte line);
 *   slots (nslots) int32:  row + 1 of a key, 0 for an empty slot (linear probing);
 *   state [0]      int64:  the number of rows (keys) held.
 * nslots is a power of two of at least 2 cap, so the load factor stays at most one half.
 * Adding stops at the first row whose key is new when the table is full and returns where it
 * stopped: the caller grows the arrays (ks_rehash fills the new slots) and calls again.
 *
 * ks_rollup adds a whole batch of flow records to the rollup's two tables (talkers, by address
 * and direction; destinations, by external address and zone) and to its sums per zone,
 * direction and application in one pass. */

#include <stddef.h>
#include <stdint.h>

#define KS_BAD (-1)
#define ROW 8
#define HIGH 0
#define LOW 1
#define TAG 2
#define SUMS 3
#define ZONE 6
/* rows looked ahead: the slot of row i + AHEAD is fetched, then the row of slot i + AHEAD / 2 */
#define AHEAD 16

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

typedef struct {
    int32_t *slots;
    uint64_t mask;
    uint64_t *store;
    int64_t cap;
    int64_t count;
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
    if (cap < 1 || cap > (INT32_MAX - 1) / 2 || count < 0 || count > cap)
        return 0;
    if (nslots < 2 * cap || (nslots & (nslots - 1)) != 0)
        return 0;
    return 1;
}

static int open_table(table_t *t, int32_t *slots, int64_t nslots, uint64_t *store, int64_t cap,
                      const int64_t *state, uint64_t seed)
{
    if (slots == NULL || store == NULL || state == NULL || !valid_shape(nslots, cap, state[0]))
        return 0;
    t->slots = slots;
    t->mask = (uint64_t)nslots - 1;
    t->store = store;
    t->cap = cap;
    t->count = state[0];
    t->seed = seed;
    return 1;
}

/* The first slot to probe for a key, its cache line asked for in advance. */
static uint64_t slot_hint(const table_t *t, uint64_t high, uint64_t low, uint64_t tag)
{
    uint64_t at = hash3(high, low, tag, t->seed) & t->mask;
    PREFETCH(t->slots + at);
    return at;
}

/* Asks in advance for the row that slot ``at`` holds, if any. */
static void row_hint(const table_t *t, uint64_t at)
{
    int32_t held = t->slots[at & t->mask];
    if (held > 0 && held <= t->count)
        PREFETCH(t->store + (uint64_t)(held - 1) * ROW);
}

/* The row of key (high, low, tag), probing from slot ``at`` (its slot_hint), a new one if it
 * is not held yet; NULL when the table is full (nothing changed). */
static uint64_t *row_at(table_t *t, uint64_t at, uint64_t high, uint64_t low, uint64_t tag,
                        int32_t zone)
{
    at &= t->mask;
    for (uint64_t probes = 0; probes <= t->mask; probes++) {
        int32_t held = t->slots[at];
        if (held <= 0 || held > t->count) { /* empty (a corrupt entry too: never followed) */
            if (t->count >= t->cap)
                return NULL;
            uint64_t *row = t->store + (uint64_t)t->count * ROW;
            t->count++;
            t->slots[at] = (int32_t)t->count;
            row[HIGH] = high;
            row[LOW] = low;
            row[TAG] = tag;
            row[SUMS] = row[SUMS + 1] = row[SUMS + 2] = 0;
            row[ZONE] = (uint64_t)(int64_t)zone;
            row[ZONE + 1] = 0;
            return row;
        }
        uint64_t *row = t->store + (uint64_t)(held - 1) * ROW;
        if (row[HIGH] == high && row[LOW] == low && row[TAG] == tag)
            return row;
        at = (at + 1) & t->mask;
    }
    return NULL;
}

static uint64_t *row_of(table_t *t, uint64_t high, uint64_t low, uint64_t tag, int32_t zone)
{
    return row_at(t, hash3(high, low, tag, t->seed), high, low, tag, zone);
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
int64_t ks_add(int32_t *slots, int64_t nslots, uint64_t *store, int64_t cap, int64_t *state,
               uint64_t seed, const uint64_t *high, const uint64_t *low, const uint64_t *tag,
               const int32_t *zone, int64_t nzone, const uint64_t *values, int64_t n,
               int64_t start)
{
    table_t t;
    if (!open_table(&t, slots, nslots, store, cap, state, seed))
        return KS_BAD;
    if (n < 0 || start < 0 || start > n || (nzone != 0 && nzone != n))
        return KS_BAD;
    if (n > 0 && (high == NULL || low == NULL || tag == NULL || values == NULL))
        return KS_BAD;
    if (nzone != 0 && zone == NULL)
        return KS_BAD;
    uint64_t ahead[AHEAD]; /* slot hints of rows i .. i + AHEAD - 1, at j % AHEAD */
    for (int64_t j = start; j < n && j < start + AHEAD; j++)
        ahead[j % AHEAD] = slot_hint(&t, high[j], low[j], tag[j]);
    int64_t i = start;
    for (; i < n; i++) {
        uint64_t at = ahead[i % AHEAD];
        if (i + AHEAD < n)
            ahead[i % AHEAD] = slot_hint(&t, high[i + AHEAD], low[i + AHEAD], tag[i + AHEAD]);
        if (i + AHEAD / 2 < n)
            row_hint(&t, ahead[(i + AHEAD / 2) % AHEAD]);
        uint64_t *row = row_at(&t, at, high[i], low[i], tag[i], nzone ? zone[i] : 0);
        if (row == NULL)
            break;
        add_to(row + SUMS, values[i], values[n + i], values[2 * n + i]);
    }
    state[0] = t.count;
    return i;
}

/* Fills slots (nslots, a power of two >= 2 cap) for the first count rows of store.
 * Returns 0, or KS_BAD for bad arguments or repeated keys. */
int64_t ks_rehash(int32_t *slots, int64_t nslots, const uint64_t *store, int64_t cap,
                  int64_t count, uint64_t seed)
{
    if (slots == NULL || store == NULL || !valid_shape(nslots, cap, count))
        return KS_BAD;
    for (int64_t s = 0; s < nslots; s++)
        slots[s] = 0;
    uint64_t mask = (uint64_t)nslots - 1;
    for (uint64_t r = 0; r < (uint64_t)count; r++) {
        const uint64_t *row = store + r * ROW;
        uint64_t at = hash3(row[HIGH], row[LOW], row[TAG], seed) & mask;
        uint64_t probes = 0;
        while (slots[at] != 0) {
            const uint64_t *other = store + (uint64_t)(slots[at] - 1) * ROW;
            if (other[HIGH] == row[HIGH] && other[LOW] == row[LOW] && other[TAG] == row[TAG])
                return KS_BAD;
            if (++probes > mask)
                return KS_BAD;
            at = (at + 1) & mask;
        }
        slots[at] = (int32_t)(r + 1);
    }
    return 0;
}

/* The rollup's sums per (zone, direction, app), flattened ((zone * 2 + direction) * napps + app)
 * * 3 + (bytes, packets, flows), for zones 0 .. nzones - 1. */
typedef struct {
    uint64_t *sums;
    uint64_t napps;
} apps_t;

enum { DIR_IN = 0, DIR_OUT = 1 };

/* The zoned side (zone >= 0) of a record: its app sums, its talker row and, when the peer has
 * no zone, the peer's destination row. 0 when a table is full. */
static int add_side(const apps_t *a, table_t *talkers, table_t *destinations, uint64_t at,
                    int32_t zone, uint64_t direction, uint64_t high, uint64_t low,
                    int32_t peer_zone, uint64_t peer_high, uint64_t peer_low, uint64_t app,
                    uint64_t nbytes, uint64_t packets)
{
    uint64_t slot = (((uint64_t)zone * 2 + direction) * a->napps + app) * 3;
    add_to(a->sums + slot, nbytes, packets, 1);
    uint64_t *row = row_at(talkers, at, high, low, direction, zone);
    if (row == NULL)
        return 0;
    add_to(row + SUMS, nbytes, packets, 1);
    if (peer_zone < 0) {
        row = row_of(destinations, peer_high, peer_low, (uint64_t)(int64_t)zone, 0);
        if (row == NULL)
            return 0;
        add_to(row + SUMS, nbytes, packets, 1);
    }
    return 1;
}

/* The talker slot hints of record j's source (out) and destination (in) sides (0 for a side
 * with no zone: not looked up). */
static void hint_sides(const table_t *talkers, uint64_t *hints, const int32_t *zone,
                       const uint64_t *high, const uint64_t *low, int64_t n, int64_t j)
{
    hints[0] = zone[j] >= 0 ? slot_hint(talkers, high[j], low[j], DIR_OUT) : 0;
    hints[1] = zone[n + j] >= 0 ? slot_hint(talkers, high[n + j], low[n + j], DIR_IN) : 0;
}

/* Records start .. n - 1 of a batch into the rollup: zone (2, n) int32 (sources, then
 * destinations; < 0: no zone), high and low (2, n) the key halves of the same addresses,
 * app (n) the application index, nbytes and packets (n). Records with no zoned side are
 * counted in unzoned[0]. Returns the record it stopped at (n when done; less when a table
 * may not have room for the next record: grow it and call again), KS_BAD for bad arguments
 * (a zone or app out of the sums' range included; then nothing is added). */
int64_t ks_rollup(int32_t *t_slots, int64_t t_nslots, uint64_t *t_store, int64_t t_cap,
                  int64_t *t_state, uint64_t t_seed, int32_t *d_slots, int64_t d_nslots,
                  uint64_t *d_store, int64_t d_cap, int64_t *d_state, uint64_t d_seed,
                  uint64_t *app_sums, int64_t app_len, int64_t nzones, int64_t napps,
                  const int32_t *zone, const uint64_t *high, const uint64_t *low,
                  const uint16_t *app, const uint64_t *nbytes, const uint64_t *packets, int64_t n,
                  int64_t start, int64_t *unzoned)
{
    table_t talkers, destinations;
    if (!open_table(&talkers, t_slots, t_nslots, t_store, t_cap, t_state, t_seed)
        || !open_table(&destinations, d_slots, d_nslots, d_store, d_cap, d_state, d_seed))
        return KS_BAD;
    if (t_cap < 2 || n < 0 || start < 0 || start > n || nzones < 0 || napps < 1
        || nzones > INT32_MAX || napps > UINT16_MAX + 1 || app_len < nzones * 2 * napps * 3)
        return KS_BAD;
    if (app_sums == NULL || unzoned == NULL
        || (n > 0 && (zone == NULL || high == NULL || low == NULL || app == NULL
                      || nbytes == NULL || packets == NULL)))
        return KS_BAD;
    for (int64_t i = start; i < n; i++)
        if (zone[i] >= nzones || zone[n + i] >= nzones || app[i] >= napps)
            return KS_BAD;
    const apps_t apps = {app_sums, (uint64_t)napps};
    uint64_t ahead[2 * AHEAD]; /* talker slot hints of record j's sides at 2 (j % AHEAD) */
    for (int64_t j = start; j < n && j < start + AHEAD; j++)
        hint_sides(&talkers, ahead + 2 * (j % AHEAD), zone, high, low, n, j);
    int64_t i = start;
    for (; i < n; i++) {
        if (talkers.count > talkers.cap - 2 || destinations.count >= destinations.cap)
            break;
        uint64_t *hints = ahead + 2 * (i % AHEAD);
        uint64_t src_at = hints[0], dst_at = hints[1];
        if (i + AHEAD < n)
            hint_sides(&talkers, hints, zone, high, low, n, i + AHEAD);
        int64_t later = i + AHEAD / 2;
        if (later < n) {
            const uint64_t *later_hints = ahead + 2 * (later % AHEAD);
            if (zone[later] >= 0)
                row_hint(&talkers, later_hints[0]);
            if (zone[n + later] >= 0)
                row_hint(&talkers, later_hints[1]);
        }
        int32_t src_zone = zone[i], dst_zone = zone[n + i];
        if (src_zone < 0 && dst_zone < 0) {
            unzoned[0]++;
            continue;
        }
        /* the room checked above means a side cannot fail: if one does, stop as bad */
        if ((src_zone >= 0
             && !add_side(&apps, &talkers, &destinations, src_at, src_zone, DIR_OUT, high[i],
                          low[i], dst_zone, high[n + i], low[n + i], app[i], nbytes[i],
                          packets[i]))
            || (dst_zone >= 0
                && !add_side(&apps, &talkers, &destinations, dst_at, dst_zone, DIR_IN,
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

/* Zone refs of n IPv4 values: blocks (nblocks = 65536) per /16 block, or split (-2) for the blocks that
 * intervals start inside, then refs of the interval (starts, k, sorted) holding the value.
 * Returns 0, KS_BAD for bad arguments. */
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
