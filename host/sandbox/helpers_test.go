package sandbox_test

import "github.com/wisp-project/wisp/sdk/guest"

type guestScores struct{ guest.Scores }
