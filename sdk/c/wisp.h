/*
 * wisp.h — the Wisp plugin ABI v1 (sdk/ABI.md) for C, with no libc.
 *
 * Build a plugin with:
 *
 *   clang --target=wasm32 -nostdlib -O2 -mbulk-memory -Wl,--no-entry -o plugin.wasm plugin.c
 *
 * (-mbulk-memory turns the compiler's memset/memcpy into memory.fill/copy, so
 * no libc is needed.)
 *
 * Write one function, wisp_plugin_score, and in exactly one .c file
 *
 *   #define WISP_IMPLEMENT
 *   #include "wisp.h"
 *
 * which defines the exports the host needs: wisp_abi_v1, wisp_buffer and
 * wisp_score (wasm-ld exports "memory" itself). The input buffer is a static
 * array of WISP_BUFFER_SIZE bytes (default 256 KiB: 10,000 events and 512
 * scores, the default device limits); define it before the include to
 * change it.
 *
 * Plugins are pure: the same events give the same scores, and nothing kept
 * in memory between calls may matter (the host may discard an instance at
 * any time).
 */
#ifndef WISP_H
#define WISP_H

typedef unsigned int wisp_u32;
typedef int wisp_i32;
typedef long long wisp_i64;

#define WISP_ABI_VERSION 1
#define WISP_HEADER_SIZE 16
#define WISP_EVENT_SIZE 24
#define WISP_SCORE_SIZE 8

/* Error codes wisp_plugin_score may return (any negative value fails the call). */
#define WISP_ERR_BAD_INPUT (-1)
#define WISP_ERR_OUTPUT_SPACE (-2)
#define WISP_ERR_INTERNAL (-3)

#define WISP_EXPORT(name) __attribute__((export_name(name)))
#define WISP_IMPORT(module, name) __attribute__((import_module(module), import_name(name)))

/* One local observation (24 bytes, little-endian, as the host writes it). */
typedef struct {
	wisp_u32 kind;  /* plugin-defined event kind */
	wisp_u32 code;  /* plugin-defined code within the kind */
	wisp_i64 time;  /* Unix milliseconds */
	double value;   /* the measurement; may be NaN, Inf or negative if a sensor is broken */
} wisp_event;

/* One interest score: an IAB Audience Taxonomy 1.1 unique ID and a value in [0, 1]. */
typedef struct {
	wisp_u32 category;
	float score;
} wisp_score_record;

_Static_assert(sizeof(wisp_event) == WISP_EVENT_SIZE, "wisp_event layout");
_Static_assert(sizeof(wisp_score_record) == WISP_SCORE_SIZE, "wisp_score_record layout");

/* A decoded batch header. Walk it with wisp_batch_event (or, for a
 * summary batch, wisp_batch_summary): records may be larger on a newer
 * host, so never index an array. */
typedef struct {
	const unsigned char *records;
	wisp_u32 count;
	wisp_u32 size;
	wisp_u32 flags; /* WISP_FLAG_SUMMARY: the records are wisp_summary */
} wisp_batch;

/* Summary batches (sdk/ABI.md 3.1): define WISP_SUMMARY before including
 * this header with WISP_IMPLEMENT to receive, instead of raw events, one
 * record per (kind, code) with the count and sum of its valid values. */
#define WISP_FLAG_SUMMARY 1u

typedef struct {
	wisp_u32 kind;
	wisp_u32 code;
	wisp_u32 count;   /* events with a valid value (finite, >= 0) */
	wisp_u32 invalid; /* events with NaN, infinite or negative values */
	double sum;       /* sum of the valid values */
} wisp_summary;

_Static_assert(sizeof(wisp_summary) == 24, "wisp_summary layout");

static inline const wisp_summary *wisp_batch_summary(const wisp_batch *b, wisp_u32 i) {
	return (const wisp_summary *)(b->records + (unsigned long)i * b->size);
}

/* The answer being built. wisp_set keeps one record per category. */
typedef struct {
	wisp_score_record *out;
	wisp_i32 cap;
	wisp_i32 n;
	int overflow;
} wisp_scores;

/* The plugin's scorer: read batch, call wisp_set, return 0 or a negative error code. */
int wisp_plugin_score(const wisp_batch *batch, wisp_scores *out);

/* wisp.log: a debug line for the plugin author, capped by the device. */
WISP_IMPORT("wisp", "log") void wisp_log(const char *ptr, wisp_i32 len);

static inline void wisp_log_str(const char *s) {
	wisp_i32 n = 0;
	while (s[n]) n++;
	wisp_log(s, n);
}

static inline const wisp_event *wisp_batch_event(const wisp_batch *b, wisp_u32 i) {
	return (const wisp_event *)(b->records + (unsigned long)i * b->size);
}

/* wisp_valid reports whether v is a usable measurement: finite and >= 0. */
static inline int wisp_valid(double v) { return v >= 0 && v <= 1.7976931348623157e308; }

/* wisp_saturate maps x >= 0 to [0, 1): x / (x + half). half is where the score is 0.5. */
static inline double wisp_saturate(double x, double half) { return x / (x + half); }

/* wisp_set records score v for category (clamped to [0, 1], NaN as 0);
 * setting a category twice keeps the last value. */
static inline void wisp_set(wisp_scores *s, wisp_u32 category, double v) {
	if (!(v >= 0)) v = 0;
	if (v > 1) v = 1;
	for (wisp_i32 i = 0; i < s->n; i++) {
		if (s->out[i].category == category) {
			s->out[i].score = (float)v;
			return;
		}
	}
	if (s->n >= s->cap) {
		s->overflow = 1;
		return;
	}
	s->out[s->n].category = category;
	s->out[s->n].score = (float)v;
	s->n++;
}

#ifdef WISP_IMPLEMENT

#ifndef WISP_BUFFER_SIZE
#define WISP_BUFFER_SIZE (256 * 1024)
#endif

static unsigned char wisp__buffer[WISP_BUFFER_SIZE] __attribute__((aligned(8)));

WISP_EXPORT("wisp_abi_v1") void wisp__abi_v1(void) {}

#ifdef WISP_SUMMARY
WISP_EXPORT("wisp_summary_v1") void wisp__summary_v1(void) {}
#endif

WISP_EXPORT("wisp_buffer") unsigned char *wisp__buffer_export(wisp_i32 size) {
	if (size <= 0 || size > WISP_BUFFER_SIZE) return 0;
	return wisp__buffer;
}

static inline wisp_u32 wisp__u32(const unsigned char *p) {
	return (wisp_u32)p[0] | (wisp_u32)p[1] << 8 | (wisp_u32)p[2] << 16 | (wisp_u32)p[3] << 24;
}

WISP_EXPORT("wisp_score") wisp_i32 wisp__score(const unsigned char *in, wisp_i32 in_len, wisp_score_record *out, wisp_i32 out_cap) {
	if (in_len < WISP_HEADER_SIZE || out_cap < 0) return WISP_ERR_BAD_INPUT;
	wisp_batch b = {in + WISP_HEADER_SIZE, wisp__u32(in + 4), wisp__u32(in + 8), wisp__u32(in + 12)};
	if (wisp__u32(in) != WISP_ABI_VERSION || b.size < WISP_EVENT_SIZE ||
	    (unsigned long long)b.count * b.size != (unsigned long long)(in_len - WISP_HEADER_SIZE))
		return WISP_ERR_BAD_INPUT;
	wisp_scores s = {out, out_cap, 0, 0};
	int rc = wisp_plugin_score(&b, &s);
	if (rc < 0) return rc;
	if (s.overflow) return WISP_ERR_OUTPUT_SPACE;
	return s.n;
}

#endif /* WISP_IMPLEMENT */
#endif /* WISP_H */
