package ldp

// SupportedItems decodes one answer into the items it supports — what the
// aggregator counts it towards. A device's transparency screen can show the
// owner exactly what a report said ("one of items 3, 17, 40, … — chosen with
// noise"), and tests can check an encoding round-trips.
func SupportedItems(fo FrequencyOracle, answer []byte) ([]int, error) {
	acc := fo.NewAccumulator()
	if err := acc.Add(answer); err != nil {
		return nil, err
	}
	var items []int
	for v, s := range acc.Support() {
		if s > 0.5 {
			items = append(items, v)
		}
	}
	return items, nil
}
