package demo

import (
	"time"

	"github.com/wisp-project/wisp/cmd/wisp/internal/sim"
	"github.com/wisp-project/wisp/host"
	"github.com/wisp-project/wisp/host/sandbox"
	"github.com/wisp-project/wisp/plugins"
	"github.com/wisp-project/wisp/plugins/fitness/scorer"
)

// deviceClass is what a simulated device of a class runs: its real plugin
// (the bytes in plugins/dist), installed through the device runtime.
type deviceClass struct {
	class    sim.Class
	plugin   string
	language string
	wasm     []byte
	// categories are the plugin's manifest categories (plugins/*/manifest.json;
	// a test keeps them in step).
	categories []uint32
}

var deviceClasses = []deviceClass{
	{sim.Phone, "store", "C", plugins.Store, []uint32{258, 457, 606, 607, 676, 703}},
	{sim.Wearable, "fitness", "Go, wasip1", plugins.Fitness, scorer.Categories},
	{sim.Media, "tv", "WAT", plugins.TV, []uint32{467, 468, 470, 472, 473, 474, 476, 479, 481, 490, 493, 494, 495, 497, 499, 504, 516, 706, 707, 708, 709, 710, 711, 713, 714, 715, 718}},
	{sim.Fridge, "fridge", "C", plugins.Fridge, []uint32{368, 369, 370, 371, 372, 376, 377, 378, 379, 380}},
	{sim.Car, "car", "C", plugins.Car, []uint32{243, 252, 253, 256, 725, 726, 731}},
	{sim.Speaker, "home", "AssemblyScript", plugins.Home, []uint32{371, 459, 465, 490, 493, 499, 504, 513}},
}

func (c *deviceClass) manifest() sandbox.Manifest {
	return sandbox.Manifest{Name: c.plugin, Version: "1.0.0", ABI: 1, Categories: c.categories}
}

// offer is one scenario's on-device offer: a creative in the signed
// catalogue, the class whose moments are its context, and the hidden trait
// that makes it truly relevant (what precision and recall are measured
// against).
type offer struct {
	creative host.Creative
	name     string
	class    sim.Class
	trait    sim.Trait
}

// perDay is the frequency cap of every offer: once a day.
var perDay = host.FrequencyCap{Max: 1, Window: 24 * time.Hour}

var offers = []offer{
	{host.Creative{ID: "shoes-spring", Campaign: "running-shoes", Categories: []uint32{410}, MinScore: 0.6, Cap: perDay,
		Content: "New running shoes, 20% off this week"}, "Running-shoe offer", sim.Wearable, sim.Runner},
	{host.Creative{ID: "grocery-10", Campaign: "grocery-discount", Categories: []uint32{368}, MinScore: 0.5, Cap: perDay,
		Content: "10% off your next grocery order, milk included"}, "Grocery discount", sim.Fridge, sim.GroceryRun},
	{host.Creative{ID: "fuel-partners", Campaign: "fuel-partners", Categories: []uint32{731}, MinScore: 0.4, Cap: perDay,
		Content: "Fuel stations on your route, and partner offers"}, "Stations and partner offers", sim.Car, sim.RoadTripper},
	{host.Creative{ID: "wishlist-aisle", Campaign: "wish-list-guidance", Categories: []uint32{607}, MinScore: 0.4, Cap: perDay,
		Content: "An item on your wish list is in this store"}, "Wish-list guidance in store", sim.Phone, sim.SportsShopper},
	{host.Creative{ID: "concert-tickets", Campaign: "concert-tickets", Categories: []uint32{481}, MinScore: 0.3, Cap: perDay,
		Content: "Concerts near you this month"}, "Concert tickets", sim.Media, sim.MusicFan},
	{host.Creative{ID: "thermostat-bundle", Campaign: "smart-thermostat", Categories: []uint32{465}, MinScore: 0.5, Cap: perDay,
		Content: "A smart thermostat that learns your schedule"}, "Smart-thermostat offer", sim.Speaker, sim.SmartHomer},
}

// quietHours are 21:00 to 08:00 on every device's clock.
var quietHours = host.QuietHours{From: 21 * 60, To: 8 * 60}

// catalogue is the one the demo signs and every device installs.
func catalogue() host.Catalogue {
	c := host.Catalogue{Cap: host.FrequencyCap{Max: 3, Window: 24 * time.Hour}, Quiet: quietHours}
	for _, o := range offers {
		c.Creatives = append(c.Creatives, o.creative)
	}
	return c
}

// inQuietHours is the simulation's own account of when it scheduled a
// moment: the device decides with the catalogue's rule, the demo only
// sorts its refusals.
func inQuietHours(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	return m >= quietHours.From || m < quietHours.To
}

// ClassPlugin is the plugin a device class runs, as the demo installs it.
type ClassPlugin struct {
	Plugin     string
	Categories []uint32
}

// ClassPlugins lists each device class's plugin (for tests and docs).
func ClassPlugins() map[string]ClassPlugin {
	out := map[string]ClassPlugin{}
	for _, c := range deviceClasses {
		out[string(c.class)] = ClassPlugin{Plugin: c.plugin, Categories: c.categories}
	}
	return out
}
