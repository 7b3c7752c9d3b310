/* The walk over NetFlow v9 / IPFIX datagram headers and set headers, and the gather of the
 * records of data sets into contiguous rows (see agent/inputs/flow/walk.py).
 *
 * Plain C11, no Python headers: the arrays are numpy's, passed as pointers with their sizes.
 * Every read of buf is checked against nbuf, every write against the size given, on any
 * input. Multi-byte fields are read byte by byte (big-endian on the wire, any host). */

#include <stdint.h>
#include <string.h>

#define MIN_LENGTH 20 /* a NetFlow v9 header, or an IPFIX header and one set header */
#define NETFLOW9 9
#define IPFIX 10

static int64_t be16(const uint8_t *p) {
    return (int64_t)(((uint32_t)p[0] << 8) | (uint32_t)p[1]);
}

static int64_t be32(const uint8_t *p) {
    return (int64_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                     (uint32_t)p[3]);
}

/* Where the sets go: four rows of capacity each (datagram, offset, id, length); used counts
 * every set, also those past capacity, which are not written. */
typedef struct {
    int64_t *sets;
    int64_t capacity;
    int64_t used;
} SetOut;

/* Walks the sets of datagram dg from pos to end (both inside buf); returns whether they tile
 * it exactly. The sets read before a bad one are kept. */
static uint8_t walk_sets(const uint8_t *buf, int64_t dg, int64_t pos, int64_t end, SetOut *out) {
    while (pos < end) {
        int64_t room = end - pos;
        if (room < 4) {
            return 0;
        }
        int64_t length = be16(buf + pos + 2);
        if (length < 4 || length > room) {
            return 0;
        }
        if (out->used < out->capacity) {
            int64_t *at = out->sets + out->used;
            at[0] = dg;
            at[out->capacity] = pos;
            at[2 * out->capacity] = be16(buf + pos);
            at[3 * out->capacity] = length;
        }
        out->used++;
        pos += length;
    }
    return 1;
}

/* Walks the n datagrams buf[starts[i] : starts[i] + lengths[i]]. Writes per datagram its
 * header fields into heads, six rows of n (version, count, uptime, secs, sequence, domain),
 * and ok[i] (0 or 1); per set, in datagram then wire order, its datagram, offset, id and
 * length into sets, four rows of capacity (the first capacity sets only). Returns how many
 * sets there are, or -1 when buf is shorter than MIN_LENGTH or a datagram of MIN_LENGTH bytes
 * or more is not inside it. */
int64_t walk(const uint8_t *buf, int64_t nbuf, const int64_t *starts, const int64_t *lengths,
             int64_t n, int64_t *heads, uint8_t *ok, int64_t *sets, int64_t capacity) {
    if (nbuf < MIN_LENGTH || n < 0 || capacity < 0) {
        return -1;
    }
    int64_t *version = heads, *count = heads + n, *uptime = heads + 2 * n;
    int64_t *secs = heads + 3 * n, *sequence = heads + 4 * n, *domain = heads + 5 * n;
    SetOut out = {sets, capacity, 0};
    for (int64_t i = 0; i < n; i++) {
        int64_t start = starts[i], length = lengths[i];
        version[i] = count[i] = uptime[i] = secs[i] = sequence[i] = domain[i] = 0;
        ok[i] = 0;
        if (length < MIN_LENGTH) {
            continue;
        }
        if (start < 0 || start > nbuf - length) {
            return -1;
        }
        const uint8_t *head = buf + start;
        int64_t v = be16(head);
        version[i] = v;
        uint8_t good;
        int64_t header;
        if (v == NETFLOW9) {
            count[i] = be16(head + 2);
            uptime[i] = be32(head + 4);
            secs[i] = be32(head + 8);
            sequence[i] = be32(head + 12);
            domain[i] = be32(head + 16);
            good = 1;
            header = 20;
        } else if (v == IPFIX) {
            secs[i] = be32(head + 4);
            sequence[i] = be32(head + 8);
            domain[i] = be32(head + 12);
            good = be16(head + 2) == length;
            header = 16;
        } else {
            continue;
        }
        ok[i] = good && walk_sets(buf, i, start + header, start + length, &out);
    }
    return out.used;
}

/* Copies the records of nsets data sets into rows, one after another (total records in
 * all), and writes per record the export time and uptime of its set into times, two rows of
 * total. sets is four rows of nsets: the offset of the set's header in buf, its records (of
 * length bytes each), its export time and its uptime. Returns total, or -1 when a set is
 * not inside buf or the records do not add up to total. */
int64_t gather(const uint8_t *buf, int64_t nbuf, const int64_t *sets, int64_t nsets,
               int64_t length, uint8_t *rows, int64_t *times, int64_t total) {
    if (length < 1 || nsets < 0 || total < 0) {
        return -1;
    }
    const int64_t *offsets = sets, *counts = sets + nsets;
    const int64_t *export_ns = sets + 2 * nsets, *uptime_ms = sets + 3 * nsets;
    int64_t done = 0;
    for (int64_t s = 0; s < nsets; s++) {
        int64_t first = offsets[s], k = counts[s];
        if (first < 0 || first > nbuf - 4 || k < 0 || k > (nbuf - 4 - first) / length ||
            k > total - done) {
            return -1;
        }
        if (k > 0) {
            memcpy(rows + done * length, buf + first + 4, (size_t)(k * length));
        }
        for (int64_t r = done; r < done + k; r++) {
            times[r] = export_ns[s];
            times[total + r] = uptime_ms[s];
        }
        done += k;
    }
    return done == total ? total : -1;
}
