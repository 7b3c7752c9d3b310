/* The flow detector's per-record work: the scan groups counted in a window, and the zone
 * cache lookup.
 *
 * Scan groups. A window's counted groups (source id, destination id, port, protocol) are an
 * exact open-addressing hash set (linear probing) in an int64 array owned by the caller:
 * GROUP_WORDS words per slot, `cap` slots (a power of two). A slot holds source, destination,
 * port and `stamp << 8 | protocol`: `stamp` is the number of the last batch that saw the group,
 * and a slot whose stamp is below the window's first batch (`epoch`) is free, so a window is
 * cleared by moving `epoch` on, without touching the table. `state` holds the number of groups
 * in the window, the epoch and the last batch number.
 *
 * Zone cache. A four-way set-associative table of address ids (`ids`, `zone`, `flags`, `size`
 * slots): the set of an id starts at (id * M1) >> shift and its ways are that slot xor 0..3.
 *
 * Every index is bounded by the lengths given: a bad argument is an error return, never an
 * access outside an array.
 */

#include <stdint.h>

#define GROUP_WORDS 4
#define STATE_WORDS 3
#define WAYS 4
#define M1 UINT64_C(0x9E3779B97F4A7C15)
#define M2 UINT64_C(0xBF58476D1CE4E5B9)
#define STAMP_LIMIT (INT64_C(1) << 54)
#define AHEAD 8 /* rows whose slots are fetched ahead of their probe */

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)(address))
#endif

static uint64_t mix(uint64_t x) {
    x *= M1;
    x ^= x >> 32;
    x *= M2;
    x ^= x >> 29;
    return x;
}

static uint64_t group_hash(int64_t src, int64_t dst, int64_t port, uint64_t proto) {
    uint64_t h = mix((uint64_t)src) ^ (uint64_t)dst;
    h = mix(h) ^ (uint64_t)port;
    return mix(h ^ (proto << 56));
}

static int valid_table(int64_t cap) {
    return cap > 0 && cap <= INT64_MAX / GROUP_WORDS && (cap & (cap - 1)) == 0;
}

/* Put one group in the set unless it is there; `*slot_stamp` is set to the stamp of its slot
 * before this batch (0 for a new group). Returns 0, or -1 when no slot is free (the caller
 * leaves one free, so only a table inconsistent with its state). */
static int find_or_add(int64_t *table, uint64_t mask, uint64_t hash, int64_t epoch,
                        int64_t stamp, int64_t src, int64_t dst, int64_t port, uint64_t proto,
                        int64_t *slot_stamp) {
    uint64_t at = hash & mask;
    for (uint64_t tries = 0; tries <= mask; tries++) {
        int64_t *slot = table + at * GROUP_WORDS;
        uint64_t tail = (uint64_t)slot[3];
        int64_t seen = (int64_t)(tail >> 8);
        if (seen < epoch) {
            slot[0] = src;
            slot[1] = dst;
            slot[2] = port;
            slot[3] = (int64_t)(((uint64_t)stamp << 8) | proto);
            *slot_stamp = 0;
            return 0;
        }
        if (slot[0] == src && slot[1] == dst && slot[2] == port && (tail & 0xFF) == proto) {
            *slot_stamp = seen;
            slot[3] = (int64_t)(((uint64_t)stamp << 8) | proto);
            return 0;
        }
        at = (at + 1) & mask;
    }
    return -1;
}

/* One pass over the candidate rows with batch number `stamp`: `out` gets the rows whose group
 * is new in the window (first row of each); returns how many (-3 for a table with no free
 * slot), and `*distinct` the number of distinct groups of the rows. */
static int64_t pass(int64_t *table, uint64_t mask, int64_t epoch, int64_t stamp,
                    const int64_t *src, const int64_t *dst, const int64_t *port,
                    const uint8_t *proto, const int64_t *rows, int64_t m, int64_t *out,
                    int64_t *distinct) {
    int64_t fresh = 0;
    int64_t groups = 0;
    uint64_t ahead[AHEAD];
    for (int64_t i = 0; i < m && i < AHEAD; i++) {
        int64_t r = rows[i];
        ahead[i] = group_hash(src[r], dst[r], port[r], proto[r]);
        PREFETCH(table + (ahead[i] & mask) * GROUP_WORDS);
    }
    for (int64_t i = 0; i < m; i++) {
        int64_t r = rows[i];
        uint64_t hash = ahead[i % AHEAD];
        if (i + AHEAD < m) {
            int64_t next = rows[i + AHEAD];
            uint64_t later = group_hash(src[next], dst[next], port[next], proto[next]);
            ahead[i % AHEAD] = later;
            PREFETCH(table + (later & mask) * GROUP_WORDS);
        }
        int64_t before;
        if (find_or_add(table, mask, hash, epoch, stamp, src[r], dst[r], port[r], proto[r],
                        &before) < 0) {
            return -3;
        }
        if (before != stamp) {
            groups++;
            if (before < epoch) {
                out[fresh++] = r;
            }
        }
    }
    *distinct = groups;
    return fresh;
}

/* The candidate rows `rows` (`m` of them, indices into columns of length `n`) whose group is
 * new in the window, in row order, written to `out` (length >= m); counts them in the set.
 * When the window's groups and this batch's distinct ones would be more than `max_counted`,
 * the set is cleared first (every group of the batch is then new). Returns how many rows,
 * -1 when the table has no room for `m` more groups, -2 for a bad argument, -3 for a table
 * inconsistent with `state`. */
int64_t detect_new_groups(int64_t *table, int64_t cap, int64_t *state, int64_t state_len,
                          const int64_t *src, const int64_t *dst, const int64_t *port,
                          const uint8_t *proto, int64_t n, const int64_t *rows, int64_t m,
                          int64_t max_counted, int64_t *out, int64_t out_len) {
    if (!valid_table(cap) || state_len < STATE_WORDS || n < 0 || m < 0 || out_len < m) {
        return -2;
    }
    int64_t count = state[0], epoch = state[1], stamp = state[2];
    if (count < 0 || epoch < 1 || stamp < epoch - 1 || stamp > STAMP_LIMIT - 3) {
        return -2;
    }
    if (m > cap - 1 - count || count > cap) {
        return -1;
    }
    for (int64_t i = 0; i < m; i++) {
        if (rows[i] < 0 || rows[i] >= n) {
            return -2;
        }
    }
    uint64_t mask = (uint64_t)cap - 1;
    int64_t distinct = 0;
    stamp++;
    int64_t fresh = pass(table, mask, epoch, stamp, src, dst, port, proto, rows, m, out,
                         &distinct);
    if (fresh >= 0 && count + distinct > max_counted) { /* forget the window's groups, count this batch's */
        epoch = stamp + 1;
        stamp = epoch;
        count = 0;
        fresh = pass(table, mask, epoch, stamp, src, dst, port, proto, rows, m, out,
                     &distinct);
    }
    if (fresh < 0) {
        return fresh;
    }
    state[0] = count + fresh;
    state[1] = epoch;
    state[2] = stamp;
    return fresh;
}

/* Move the window's groups of `old` (`old_cap` slots) into the empty `table` (`cap` slots).
 * Returns how many, -1 when they do not fit, -2 for a bad argument. */
int64_t detect_rehash(const int64_t *old, int64_t old_cap, int64_t *table, int64_t cap,
                      int64_t epoch) {
    if (!valid_table(old_cap) || !valid_table(cap) || epoch < 1) {
        return -2;
    }
    uint64_t mask = (uint64_t)cap - 1;
    int64_t moved = 0;
    for (int64_t i = 0; i < old_cap; i++) {
        const int64_t *slot = old + i * GROUP_WORDS;
        uint64_t tail = (uint64_t)slot[3];
        if ((int64_t)(tail >> 8) < epoch) {
            continue;
        }
        if (moved >= cap - 1) {
            return -1;
        }
        uint64_t at = group_hash(slot[0], slot[1], slot[2], tail & 0xFF) & mask;
        uint64_t tries = 0;
        while ((int64_t)((uint64_t)table[at * GROUP_WORDS + 3] >> 8) >= epoch) {
            if (++tries > mask) {
                return -1;
            }
            at = (at + 1) & mask;
        }
        for (uint64_t w = 0; w < GROUP_WORDS; w++) {
            table[at * GROUP_WORDS + w] = slot[w];
        }
        moved++;
    }
    return moved;
}

/* Zone and flags of every id of `src` then `dst` (`n` each) from the cache, into `zone` and
 * `flags` (2n each; the primary slot's values where missing); the positions (0..2n) of the
 * missing ids into `miss` (2n). Returns how many are missing, -2 for a bad argument. */
int64_t detect_cache_lookup(const int64_t *ids, const int32_t *zones, const uint8_t *flag_table,
                            int64_t size, int64_t shift, const int64_t *src, const int64_t *dst,
                            int64_t n, int32_t *zone, uint8_t *flags, int64_t *miss,
                            int64_t out_len) {
    if (shift < 2 || shift > 62 || n < 0 || n > out_len / 2 || !valid_table(size) ||
        (uint64_t)size != (UINT64_C(1) << (64 - shift))) {
        return -2;
    }
    uint64_t mask = (uint64_t)size - 1;
    int64_t missing = 0;
    for (int64_t i = 0; i < 2 * n; i++) {
        int64_t id = i < n ? src[i] : dst[i - n];
        if (i + AHEAD < 2 * n) {
            int64_t next = i + AHEAD < n ? src[i + AHEAD] : dst[i + AHEAD - n];
            uint64_t later = (((uint64_t)next * M1) >> shift) & mask;
            PREFETCH(ids + later);
            PREFETCH(zones + later);
            PREFETCH(flag_table + later);
        }
        uint64_t primary = (((uint64_t)id * M1) >> shift) & mask;
        uint64_t slot = primary;
        int hit = 0;
        for (uint64_t way = 0; way < WAYS; way++) {
            uint64_t probe = (primary ^ way) & mask;
            if (ids[probe] == id) {
                slot = probe;
                hit = 1;
                break;
            }
        }
        zone[i] = zones[slot];
        flags[i] = flag_table[slot];
        if (!hit) {
            miss[missing++] = i;
        }
    }
    return missing;
}

static uint64_t load_be64(const uint8_t *p) {
    uint64_t v = 0;
    for (int b = 0; b < 8; b++) {
        v = (v << 8) | p[b];
    }
    return v;
}

/* The address ids of one column: the IPv4 value where `is_v6` is 0, else 2**62 plus 62 bits
 * mixed from the 16 bytes of the row of `v6` (`n` rows of 16 bytes, big-endian halves). */
static void ids_of(const uint8_t *is_v6, const uint32_t *v4, const uint8_t *v6, int64_t n,
                   int64_t *out) {
    for (int64_t i = 0; i < n; i++) {
        if (is_v6[i]) {
            const uint8_t *row = v6 + i * 16;
            uint64_t mixed = mix(load_be64(row) ^ mix(load_be64(row + 8))) >> 2;
            out[i] = (int64_t)(mixed | (UINT64_C(1) << 62));
        } else {
            out[i] = (int64_t)v4[i];
        }
    }
}

/* Source and destination address ids of `n` records (see ids_of). `v6_rows` is the number of
 * 16-byte rows of `src6` and `dst6`: it must be `n`. Returns 0, -2 for a bad argument. */
int64_t detect_address_ids(const uint8_t *is_v6, const uint32_t *src4, const uint32_t *dst4,
                           const uint8_t *src6, const uint8_t *dst6, int64_t n, int64_t v6_rows,
                           int64_t *src, int64_t *dst) {
    if (n < 0 || v6_rows != n || n > INT64_MAX / 16) {
        return -2;
    }
    ids_of(is_v6, src4, src6, n, src);
    ids_of(is_v6, dst4, dst6, n, dst);
    return 0;
}
