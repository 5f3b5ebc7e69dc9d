// Package scorer is the smart-fridge plugin's logic in Go: the same
// arithmetic, in the same order, as ../c/fridge.c, so the two give the same
// scores. The C build is what ships (plugins/dist/fridge.wasm); this
// twin is the native baseline of `wisp bench plugin`, the oracle of the C
// plugin's tests, and, built from ../gowasm, the Go wasip1 variant.
package scorer

import "github.com/wisp-project/wisp/sdk/guest"

// Event kinds.
const (
	KindStocked = 1 // an item put in the fridge; Code: group; Value: quantity
	KindRecipe  = 2 // a recipe opened on the door screen; Code: recipe type; Value: minutes
	KindListed  = 3 // an item added to the shopping list; Code: group; Value: quantity
)

// Food groups (codes of KindStocked and KindListed).
const (
	Veg = iota + 1
	Fruit
	Meat
	Fish
	Dairy
	PlantProtein
	Baking
	Alcohol
	SoftDrink
	ReadyMeal
	Sweets
	Grill
	nGroups
)

// Recipe types (codes of KindRecipe).
const (
	RecipeHome = iota + 1
	RecipeWorld
	RecipeBaking
	RecipeHealthy
	RecipeBBQ
	RecipeVegan
	nRecipes
)

// IAB Audience Taxonomy 1.1 Interest categories (Interest | Food & Drink | …).
const (
	FoodAndDrink   = 368
	Alcoholic      = 369
	BBQ            = 370
	Cooking        = 371
	BakingDesserts = 372
	Healthy        = 376
	NonAlcoholic   = 377
	Vegan          = 378
	Vegetarian     = 379
	WorldCuisines  = 380
)

// Categories lists every category Score may set, for the manifest.
var Categories = []uint32{FoodAndDrink, Alcoholic, BBQ, Cooking, BakingDesserts, Healthy, NonAlcoholic, Vegan, Vegetarian, WorldCuisines}

func valid(v float64) bool { return v >= 0 && v <= 1.7976931348623157e308 }

func saturate(x, half float64) float64 { return x / (x + half) }

// tally accumulates what the scores are computed from.
type tally struct {
	w       [nGroups]float64
	r       [nRecipes]float64
	recipes float64
}

// add takes one event's (or one group's summed) valid value.
func (t *tally) add(kind, code uint32, v float64) {
	switch kind {
	case KindStocked:
		if code >= Veg && code < nGroups {
			t.w[code] += v
		}
	case KindListed:
		if code >= Veg && code < nGroups {
			t.w[code] += float64(1.5 * v)
		}
	case KindRecipe:
		if code >= RecipeHome && code < nRecipes {
			t.r[code] += v
			t.recipes += v
		}
	}
}

// Score scores one batch of fridge events.
func Score(events []guest.Event, out *guest.Scores) error {
	var t tally
	for i := range events {
		if e := &events[i]; valid(e.Value) {
			t.add(e.Kind, e.Code, e.Value)
		}
	}
	t.finish(out)
	return nil
}

// ScoreSummaries scores a summary batch (sdk/ABI.md 3.1): the same
// tallies, from per-(kind, code) sums the host computed.
func ScoreSummaries(groups []guest.Summary, out *guest.Scores) error {
	var t tally
	for i := range groups {
		if g := &groups[i]; g.Count > 0 {
			t.add(g.Kind, g.Code, g.Sum)
		}
	}
	t.finish(out)
	return nil
}

func (t *tally) finish(out *guest.Scores) {
	w, r, recipes := &t.w, &t.r, t.recipes
	var total float64
	for g := Veg; g < nGroups; g++ {
		total += w[g]
	}
	if total > 0 {
		out.Set(FoodAndDrink, saturate(total, 20))
	}
	if w[Alcohol] > 0 {
		out.Set(Alcoholic, saturate(w[Alcohol], 4))
	}
	if w[SoftDrink] > 0 {
		out.Set(NonAlcoholic, saturate(w[SoftDrink], 6))
	}
	if bbq := w[Grill] + r[RecipeBBQ]/20; bbq > 0 {
		out.Set(BBQ, saturate(bbq, 3))
	}
	if baking := w[Baking] + w[Sweets] + r[RecipeBaking]/20; baking > 0 {
		out.Set(BakingDesserts, saturate(baking, 5))
	}
	fresh := w[Veg] + w[Fruit] + w[Meat] + w[Fish] + w[Dairy] + w[PlantProtein] + w[Baking]
	if cooking := fresh + recipes/15; cooking > 0 {
		out.Set(Cooking, float64(saturate(cooking, 15))*(cooking/(cooking+float64(2*w[ReadyMeal]))))
	}
	plants := w[Veg] + w[Fruit] + w[PlantProtein] + w[Fish]
	junk := w[ReadyMeal] + w[Sweets] + w[SoftDrink]
	if healthy := plants + r[RecipeHealthy]/15; healthy > 0 {
		out.Set(Healthy, float64(saturate(healthy, 10))*(healthy/(healthy+junk)))
	}
	if w[Meat]+w[Fish] == 0 && w[Veg]+w[PlantProtein] >= 3 {
		out.Set(Vegetarian, saturate(w[Veg]+w[PlantProtein], 8))
	}
	if w[Meat]+w[Fish]+w[Dairy] == 0 && w[PlantProtein]+r[RecipeVegan]/15 > 0 {
		out.Set(Vegan, saturate(w[PlantProtein]+r[RecipeVegan]/15, 4))
	}
	if r[RecipeWorld] > 0 {
		out.Set(WorldCuisines, saturate(r[RecipeWorld], 60))
	}
}
