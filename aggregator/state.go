package aggregator

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/campaign"
	"github.com/wisp-project/wisp/internal/wire"
)

// snapshot is a node's immutable view of the keys and campaigns in the
// store. Ingest reads it without locks; a reload swaps in a new one. Nodes
// coordinate only through the store, so a campaign created on one node
// reaches the others within Config.Refresh (or at once, when a report names
// something the snapshot lacks), and a key change within a second
// (Server.WatchKeys).
type snapshot struct {
	loaded    time.Time
	keys      map[uint8]keyEntry
	keyList   []store.Key // by id, without private keys
	configs   []byte      // CBOR wire.KeyConfigList of the active keys
	campaigns map[string]*registered
	order     []string // campaign ids, sorted
}

type keyEntry struct {
	pair  *KeyPair
	state store.KeyState
}

// registered is a campaign from the store with its owner and signature.
type registered struct {
	Campaign
	tenant    string
	createdAt time.Time
	signed    api.SignedCampaign
	state     store.CampaignState // lifecycle.go
	since     time.Time           // when it entered state (zero: since creation)
	codec     *campaign.Codec     // the campaign's mechanism, built once
}

// reloadState loads the snapshot from the store now.
func (s *Server) reloadState(ctx context.Context) error {
	s.reload.Lock()
	defer s.reload.Unlock()
	return s.loadState(ctx)
}

// loadState loads the snapshot; the caller holds s.reload.
func (s *Server) loadState(ctx context.Context) error {
	started := time.Now() // the snapshot holds everything committed before this
	keys, err := s.store.Keys(ctx)
	if err != nil {
		return err
	}
	camps, err := s.store.Campaigns(ctx)
	if err != nil {
		return err
	}
	snap := &snapshot{loaded: started, keys: map[uint8]keyEntry{}, campaigns: map[string]*registered{}}
	var active wire.KeyConfigList
	var activeSince []time.Time
	for _, k := range keys {
		priv, err := s.wrap.open(hpkeLabel(k.ID), k.Private)
		if err != nil {
			return err
		}
		pair, err := wire.UnmarshalKeyPair(k.ID, priv)
		if err != nil {
			return fmt.Errorf("aggregator: stored key %d: %w", k.ID, err)
		}
		snap.keys[k.ID] = keyEntry{pair: pair, state: k.State}
		k.Private = nil
		snap.keyList = append(snap.keyList, k)
		if k.State == store.KeyActive {
			active.Configs = append(active.Configs, pair.Config)
			activeSince = append(activeSince, k.ChangedAt)
		}
	}
	// Most recently activated key first: devices seal to the first config
	// they can use.
	order := make([]int, len(active.Configs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return activeSince[order[a]].After(activeSince[order[b]]) })
	sorted := make([]wire.KeyConfig, len(order))
	for i, j := range order {
		sorted[i] = active.Configs[j]
	}
	active.Configs = sorted
	if snap.configs, err = wire.Marshal(active); err != nil {
		return err
	}
	for _, c := range camps {
		r := &registered{tenant: c.Tenant, createdAt: c.CreatedAt, signed: api.SignedCampaign{Config: c.Config, Signature: c.Signature},
			state: c.State, since: c.StateChangedAt}
		if err := json.Unmarshal(c.Config, &r.Campaign); err != nil {
			return fmt.Errorf("aggregator: stored campaign %q: %w", c.ID, err)
		}
		if r.MechanismReason == "" {
			// Signed before campaigns named their mechanism (threshold
			// questions, rr): results still say why.
			v := r.Campaign
			if v.Validate(s.tax) == nil && v.MechanismName == r.Mechanism().String() {
				r.MechanismReason = v.MechanismReason
			}
		}
		if r.codec, err = r.Campaign.Codec(); err != nil {
			return fmt.Errorf("aggregator: stored campaign %q: %w", c.ID, err)
		}
		snap.campaigns[c.ID] = r
		snap.order = append(snap.order, c.ID)
	}
	s.state.Store(snap)
	return nil
}

// current returns the snapshot, reloading it first if it is older than
// the refresh interval — unless another request is already reloading, in
// which case the old snapshot serves (no herd of reloads). A failed reload
// keeps the old snapshot.
func (s *Server) current(ctx context.Context) *snapshot {
	snap := s.state.Load()
	if time.Since(snap.loaded) < s.refresh || !s.reload.TryLock() {
		return snap
	}
	defer s.reload.Unlock()
	if time.Since(s.state.Load().loaded) < s.refresh {
		return s.state.Load() // reloaded while we waited for the lock
	}
	if err := s.loadState(ctx); err != nil {
		s.log.Warn("reloading keys and campaigns", "err", err)
		return snap
	}
	return s.state.Load()
}

// flight is one reload that requests which missed a key or campaign
// share; done is closed when it has ended, with err.
type flight struct {
	started time.Time
	done    chan struct{}
	err     error
}

// minForcedGap is the least time between the starts of two reloads that
// requests force: a flood of reports naming unknown ids costs at most ten
// reloads a second, and a burst of requests missing the same new campaign
// shares one.
const minForcedGap = 100 * time.Millisecond

// reloadAfter makes sure the snapshot was loaded from the store after
// seen, the moment a request found a key or campaign missing, so that
// whatever another node committed before then is in it; it reports
// whether it is (false: the reload failed, or ctx ended). Requests that
// miss together share one reload, singleflight-style: a reload in flight
// that started after a request's miss serves it; one that started before
// is waited for, and the next one — started once, by the first request to
// find it needed — serves everyone waiting meanwhile.
func (s *Server) reloadAfter(ctx context.Context, seen time.Time) bool {
	for {
		if !s.state.Load().loaded.Before(seen) {
			return true
		}
		s.flightMu.Lock()
		f := s.flight
		lead := f == nil
		if lead {
			f = &flight{done: make(chan struct{})}
			s.flight = f
		}
		s.flightMu.Unlock()
		if lead {
			s.leadReload(ctx, f)
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return false
		}
		if f.err != nil {
			return false
		}
		if !f.started.Before(seen) {
			return true
		}
		// That reload started before this request's miss: go again.
	}
}

// leadReload runs flight f: it waits out minForcedGap since the previous
// forced reload, then reloads on a context no one request can cancel.
func (s *Server) leadReload(ctx context.Context, f *flight) {
	defer func() {
		s.flightMu.Lock()
		s.flight = nil
		s.flightMu.Unlock()
		close(f.done)
	}()
	if wait := time.Until(time.Unix(0, s.lastForced.Load()).Add(minForcedGap)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			f.err = ctx.Err()
			return
		}
	}
	f.started = time.Now()
	s.lastForced.Store(f.started.UnixNano())
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if f.err = s.reloadState(lctx); f.err != nil {
		s.log.Warn("reloading keys and campaigns", "err", f.err)
	}
}
