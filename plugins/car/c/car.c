/*
 * car — the connected-car plugin, in C with no libc (sdk/c/wisp.h).
 *
 * Trips, charging sessions and drive-mode use, in; IAB Audience Taxonomy
 * 1.1 Automotive and Travel interests, out. Everything stays in the car:
 * no location, only what kind of trip it was and how far.
 *
 * Build: clang --target=wasm32 -nostdlib -O2 -mbulk-memory -I../../../sdk/c -Wl,--no-entry -o car.wasm car.c
 */
#define WISP_IMPLEMENT
#include "wisp.h"

enum { TRIP = 1,   /* code: trip type; value: km */
       CHARGE = 2, /* a charging session; value: kWh */
       MODE = 3    /* a drive mode in use; code: mode; value: minutes */ };
enum { COMMUTE = 1, DAY_TRIP = 2, LONG_TRIP = 3, CAMPSITE = 4, NTRIPS };
enum { SPORT = 1, ECO = 2, AUTOPILOT = 3, NMODES };

enum { AUTOMOTIVE = 243, DRIVERLESS = 252, GREEN = 253, PERFORMANCE = 256,
       CAMPING = 725, DAY_TRIPS = 726, ROAD_TRIPS = 731 };

int wisp_plugin_score(const wisp_batch *batch, wisp_scores *out) {
	double km[NTRIPS] = {0}, minutes[NMODES] = {0}, kwh = 0, total_km = 0, drive_min = 0;
	for (wisp_u32 i = 0; i < batch->count; i++) {
		const wisp_event *e = wisp_batch_event(batch, i);
		if (!wisp_valid(e->value)) continue;
		if (e->kind == TRIP && e->code >= COMMUTE && e->code < NTRIPS) {
			km[e->code] += e->value;
			total_km += e->value;
		} else if (e->kind == CHARGE) {
			kwh += e->value;
		} else if (e->kind == MODE && e->code >= SPORT && e->code < NMODES) {
			minutes[e->code] += e->value;
			drive_min += e->value;
		}
	}
	/* Driving a lot is weak evidence of interest in cars; how one drives is stronger. */
	double cars = 0.5 * wisp_saturate(total_km, 500) + 0.5 * wisp_saturate(minutes[SPORT] + minutes[AUTOPILOT], 120);
	if (cars > 0) wisp_set(out, AUTOMOTIVE, cars);
	if (kwh > 0 || minutes[ECO] > 0) wisp_set(out, GREEN, wisp_saturate(kwh / 10 + minutes[ECO] / 60, 5));
	if (minutes[SPORT] > 0) wisp_set(out, PERFORMANCE, wisp_saturate(minutes[SPORT], 60) * (minutes[SPORT] / drive_min));
	if (minutes[AUTOPILOT] > 0) wisp_set(out, DRIVERLESS, wisp_saturate(minutes[AUTOPILOT], 120));
	if (km[DAY_TRIP] > 0) wisp_set(out, DAY_TRIPS, wisp_saturate(km[DAY_TRIP], 150));
	if (km[LONG_TRIP] > 0) wisp_set(out, ROAD_TRIPS, wisp_saturate(km[LONG_TRIP], 400));
	if (km[CAMPSITE] > 0) wisp_set(out, CAMPING, wisp_saturate(km[CAMPSITE], 100));
	return 0;
}
