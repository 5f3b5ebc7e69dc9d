// A module outside Wisp that uses its public doors only. Built by
// internal/archtest (TestOutsideModule) from a copy whose replace directive
// points at the checkout; it fails to compile if a public signature needs
// an internal type.
module example.com/outside

go 1.26

require github.com/wisp-project/wisp v0.0.0

replace github.com/wisp-project/wisp => ../..
