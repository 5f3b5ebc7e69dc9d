/*
 * store — the phone's in-store plugin, in C with no libc (sdk/c/wisp.h).
 *
 * In-store beacon passes and the owner's wish list, in; IAB Audience
 * Taxonomy 1.1 shopping interests, out. Proximity stays on the phone: the
 * plugin sees which department a beacon stands in and how long the owner
 * lingered, never where the store is or when, and only interest scores
 * come out.
 *
 * Build: clang --target=wasm32 -nostdlib -O2 -mbulk-memory -I../../../sdk/c -Wl,--no-entry -o store.wasm store.c
 */
#define WISP_IMPLEMENT
#include "wisp.h"

enum { BEACON = 1,  /* a beacon passed; code: department; value: seconds nearby */
       WISHED = 2   /* an item added to the wish list; code: department; value: items */ };
enum { SPORTS = 1, FASHION = 2, HOME = 3, ELECTRONICS = 4, BOOKS = 5, NDEPTS };

/* IAB Audience Taxonomy 1.1 ids, by department. */
static const wisp_u32 interest[NDEPTS] = {0, 607, 676, 457, 703, 258};
enum { SHOPPING = 606 };

int wisp_plugin_score(const wisp_batch *batch, wisp_scores *out) {
	double minutes[NDEPTS] = {0}, wished[NDEPTS] = {0}, total = 0;
	for (wisp_u32 i = 0; i < batch->count; i++) {
		const wisp_event *e = wisp_batch_event(batch, i);
		if (!wisp_valid(e->value) || e->code < SPORTS || e->code >= NDEPTS) continue;
		if (e->kind == BEACON) {
			minutes[e->code] += e->value / 60;
			total += e->value / 60;
		} else if (e->kind == WISHED) {
			wished[e->code] += e->value;
		}
	}
	/* Walking past is weak evidence; lingering and wishing are strong. */
	for (int d = SPORTS; d < NDEPTS; d++) {
		double evidence = minutes[d] / 10 + wished[d];
		if (evidence > 0) wisp_set(out, interest[d], wisp_saturate(evidence, 2));
	}
	if (total > 0) wisp_set(out, SHOPPING, wisp_saturate(total, 30));
	return 0;
}
