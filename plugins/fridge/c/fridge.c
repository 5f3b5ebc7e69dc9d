/*
 * fridge — the smart-fridge plugin, in C with no libc (sdk/c/wisp.h).
 *
 * What goes into the fridge, what goes on the shopping list and which
 * recipes the owner opens on the door screen, in; IAB Audience Taxonomy 1.1
 * Food & Drink interests (grocery purchase intent, cooking, diets), out.
 * The same logic in Go is ./scorer (used natively by the host's tests and
 * benchmarks, and built as Go wasip1 from ./gowasm): keep the two in step.
 *
 * Built with -DWISP_SUMMARY (plugins/dist/fridge.wasm) it asks the host
 * for summary batches — per (kind, code) counts and sums, computed natively —
 * since its logic only sums values; without (fridge-events.wasm) it walks
 * raw events. Both give the same scores.
 *
 * Build: clang --target=wasm32 -nostdlib -O2 -mbulk-memory -I../../../sdk/c -Wl,--no-entry -o fridge.wasm fridge.c
 */
#define WISP_IMPLEMENT
#include "wisp.h"

/* Event kinds. */
enum { STOCKED = 1, /* an item put in the fridge; code: group; value: quantity */
       RECIPE = 2,  /* a recipe opened on the door screen; code: recipe type; value: minutes */
       LISTED = 3   /* an item added to the shopping list; code: group; value: quantity */ };

/* Food groups (codes of STOCKED and LISTED). */
enum { VEG = 1, FRUIT, MEAT, FISH, DAIRY, PLANT_PROTEIN, BAKING, ALCOHOL, SOFT_DRINK, READY_MEAL, SWEETS, GRILL, NGROUPS };

/* Recipe types (codes of RECIPE). */
enum { R_HOME = 1, R_WORLD, R_BAKING, R_HEALTHY, R_BBQ, R_VEGAN, NRECIPES };

/* IAB Audience Taxonomy 1.1 ids. */
enum {
	FOOD_AND_DRINK = 368, ALCOHOLIC = 369, BBQ = 370, COOKING = 371, BAKING_DESSERTS = 372,
	HEALTHY = 376, NON_ALCOHOLIC = 377, VEGAN = 378, VEGETARIAN = 379, WORLD_CUISINES = 380
};

/* add takes one event's (or one group's summed) valid value into the tallies. */
static inline void add(double *w, double *r, double *recipes, wisp_u32 kind, wisp_u32 code, double v) {
	switch (kind) {
	case STOCKED:
		if (code >= VEG && code < NGROUPS) w[code] += v;
		break;
	case LISTED: /* intent to buy weighs more than what is already there */
		if (code >= VEG && code < NGROUPS) w[code] += 1.5 * v;
		break;
	case RECIPE:
		if (code >= R_HOME && code < NRECIPES) {
			r[code] += v;
			*recipes += v;
		}
		break;
	}
}

int wisp_plugin_score(const wisp_batch *batch, wisp_scores *out) {
	double w[NGROUPS] = {0};
	double r[NRECIPES] = {0};
	double recipes = 0;
	if (batch->flags & WISP_FLAG_SUMMARY) {
		for (wisp_u32 i = 0; i < batch->count; i++) {
			const wisp_summary *s = wisp_batch_summary(batch, i);
			if (s->count) add(w, r, &recipes, s->kind, s->code, s->sum);
		}
	} else {
		for (wisp_u32 i = 0; i < batch->count; i++) {
			const wisp_event *e = wisp_batch_event(batch, i);
			if (wisp_valid(e->value)) add(w, r, &recipes, e->kind, e->code, e->value);
		}
	}
	double total = 0;
	for (int g = VEG; g < NGROUPS; g++) total += w[g];
	if (total > 0) wisp_set(out, FOOD_AND_DRINK, wisp_saturate(total, 20));
	if (w[ALCOHOL] > 0) wisp_set(out, ALCOHOLIC, wisp_saturate(w[ALCOHOL], 4));
	if (w[SOFT_DRINK] > 0) wisp_set(out, NON_ALCOHOLIC, wisp_saturate(w[SOFT_DRINK], 6));
	double bbq = w[GRILL] + r[R_BBQ] / 20;
	if (bbq > 0) wisp_set(out, BBQ, wisp_saturate(bbq, 3));
	double baking = w[BAKING] + w[SWEETS] + r[R_BAKING] / 20;
	if (baking > 0) wisp_set(out, BAKING_DESSERTS, wisp_saturate(baking, 5));
	double fresh = w[VEG] + w[FRUIT] + w[MEAT] + w[FISH] + w[DAIRY] + w[PLANT_PROTEIN] + w[BAKING];
	double cooking = fresh + recipes / 15;
	if (cooking > 0) wisp_set(out, COOKING, wisp_saturate(cooking, 15) * (cooking / (cooking + 2 * w[READY_MEAL])));
	double plants = w[VEG] + w[FRUIT] + w[PLANT_PROTEIN] + w[FISH];
	double junk = w[READY_MEAL] + w[SWEETS] + w[SOFT_DRINK];
	double healthy = plants + r[R_HEALTHY] / 15;
	if (healthy > 0) wisp_set(out, HEALTHY, wisp_saturate(healthy, 10) * (healthy / (healthy + junk)));
	if (w[MEAT] + w[FISH] == 0 && w[VEG] + w[PLANT_PROTEIN] >= 3)
		wisp_set(out, VEGETARIAN, wisp_saturate(w[VEG] + w[PLANT_PROTEIN], 8));
	if (w[MEAT] + w[FISH] + w[DAIRY] == 0 && w[PLANT_PROTEIN] + r[R_VEGAN] / 15 > 0)
		wisp_set(out, VEGAN, wisp_saturate(w[PLANT_PROTEIN] + r[R_VEGAN] / 15, 4));
	if (r[R_WORLD] > 0) wisp_set(out, WORLD_CUISINES, wisp_saturate(r[R_WORLD], 60));
	return 0;
}
