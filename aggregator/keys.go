package aggregator

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/wisp-project/wisp/aggregator/store"
	"github.com/wisp-project/wisp/internal/api"
	"github.com/wisp-project/wisp/internal/wire"
)

// Rotation times HPKE key rotation, which moves keys pending → active →
// expired, one step per RotateKeys call (run it from cron or the CLI on any
// node; it is idempotent):
//
//   - when the newest active key has been active for Every and no key is
//     pending, a new pending key is made: accepted, not yet advertised, so
//     every node loads it before any device can seal to it;
//   - a key pending for Pending becomes active and is advertised first;
//   - an older active key expires once a newer one has been active for
//     Overlap (devices cache the config list; reports sealed to it until
//     then still count), after which its reports are rejected as
//     key_expired.
type Rotation struct {
	Every   time.Duration // 0: 30 days
	Pending time.Duration // 0: 1 hour
	Overlap time.Duration // 0: 24 hours
}

func (r Rotation) withDefaults() Rotation {
	if r.Every == 0 {
		r.Every = 30 * 24 * time.Hour
	}
	if r.Pending == 0 {
		r.Pending = time.Hour
	}
	if r.Overlap == 0 {
		r.Overlap = 24 * time.Hour
	}
	return r
}

// ErrNoKeyID reports that all 256 key ids are in use.
var ErrNoKeyID = errors.New("aggregator: no free HPKE key id")

// ensureKey stores k as active unless its id exists. A different key
// under the same id is a configuration error: devices would seal to one
// and the nodes open with the other.
func (s *Server) ensureKey(ctx context.Context, k *KeyPair) error {
	priv, err := k.MarshalPrivateKey()
	if err != nil {
		return err
	}
	sealed, err := s.wrap.seal(hpkeLabel(k.Config.ID), priv)
	if err != nil {
		return err
	}
	now := s.now()
	err = s.store.AddKey(ctx, store.Key{ID: k.Config.ID, Private: sealed, State: store.KeyActive, CreatedAt: now, ChangedAt: now})
	if !errors.Is(err, store.ErrConflict) {
		return err
	}
	keys, err := s.store.Keys(ctx)
	if err != nil {
		return err
	}
	for _, stored := range keys {
		if stored.ID != k.Config.ID {
			continue
		}
		have, err := s.wrap.open(hpkeLabel(stored.ID), stored.Private)
		if err != nil {
			return err
		}
		if !bytes.Equal(have, priv) {
			return fmt.Errorf("%w: the store already has a different key with id %d", ErrConfig, k.Config.ID)
		}
	}
	return nil
}

// firstKey makes the first active key of an empty store, id 1; if the
// store has a key by then, or another node inserts key 1 first, it does
// nothing.
func (s *Server) firstKey(ctx context.Context) error {
	keys, err := s.store.Keys(ctx)
	if err != nil || len(keys) > 0 {
		return err
	}
	pair, err := wire.GenerateKeyPair(1, rand.Reader)
	if err != nil {
		return err
	}
	if err := s.ensureKey(ctx, pair); err != nil && !errors.Is(err, ErrConfig) {
		return err
	}
	return nil // ErrConfig: another node's key 1 won the race
}

// addKey makes a fresh key in state under the next free id and stores it.
func (s *Server) addKey(ctx context.Context, state store.KeyState) (uint8, error) {
	return s.newKey(ctx, state, func(k store.Key) error { return s.store.AddKey(ctx, k) })
}

// newKey makes a fresh key in state under the next free id (one after the
// newest key's, wrapping, skipping ids still pending or active) and hands
// it, sealed, to put.
func (s *Server) newKey(ctx context.Context, state store.KeyState, put func(store.Key) error) (uint8, error) {
	keys, err := s.store.Keys(ctx)
	if err != nil {
		return 0, err
	}
	used := map[uint8]bool{}
	next := 1
	var newest time.Time
	for _, k := range keys {
		if k.State != store.KeyExpired {
			used[k.ID] = true
		}
		if !k.CreatedAt.Before(newest) {
			newest, next = k.CreatedAt, int(k.ID)+1
		}
	}
	for range 256 {
		id := uint8(next % 256)
		next++
		if used[id] {
			continue
		}
		pair, err := wire.GenerateKeyPair(id, rand.Reader)
		if err != nil {
			return 0, err
		}
		priv, err := pair.MarshalPrivateKey()
		if err != nil {
			return 0, err
		}
		if priv, err = s.wrap.seal(hpkeLabel(id), priv); err != nil {
			return 0, err
		}
		now := s.now()
		if err := put(store.Key{ID: id, Private: priv, State: state, CreatedAt: now, ChangedAt: now}); err != nil {
			return 0, err // ErrConflict: another node took the id at the same moment; retry later
		}
		return id, nil
	}
	return 0, ErrNoKeyID
}

// RotateKeys runs one rotation step (see Rotation); force makes a new
// pending key even if the newest active one is young. It returns what
// changed, in words.
func (s *Server) RotateKeys(ctx context.Context, force bool) ([]string, error) {
	keys, err := s.store.Keys(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	changes := []string{}
	var newestActive *store.Key
	pending := false
	for i := range keys {
		k := &keys[i]
		switch k.State {
		case store.KeyPending:
			if now.Sub(k.ChangedAt) >= s.rotation.Pending {
				if err := s.store.SetKeyState(ctx, k.ID, store.KeyActive, now); err != nil {
					return changes, err
				}
				k.State, k.ChangedAt = store.KeyActive, now
				changes = append(changes, fmt.Sprintf("key %d: pending → active", k.ID))
			} else {
				pending = true
			}
		}
		if k.State == store.KeyActive && (newestActive == nil || !k.ChangedAt.Before(newestActive.ChangedAt)) {
			newestActive = k
		}
	}
	for i := range keys {
		k := &keys[i]
		if k.State == store.KeyActive && k != newestActive && now.Sub(newestActive.ChangedAt) >= s.rotation.Overlap {
			if err := s.store.SetKeyState(ctx, k.ID, store.KeyExpired, now); err != nil {
				return changes, err
			}
			changes = append(changes, fmt.Sprintf("key %d: active → expired", k.ID))
		}
	}
	if !pending && (force || newestActive == nil || now.Sub(newestActive.ChangedAt) >= s.rotation.Every) {
		id, err := s.addKey(ctx, store.KeyPending)
		if err != nil {
			return changes, err
		}
		changes = append(changes, fmt.Sprintf("key %d: new, pending", id))
	}
	return changes, s.reloadState(ctx)
}

// RotateNow makes a new key active at once, skipping the pending state
// (an urgent rotation): it is advertised first from now on. Every node
// learns it within a second (Server.WatchKeys), and a node that has not
// yet reloads before it rejects a report naming it. Older active keys stay
// accepted, and advertised after it, until it has been active for
// Rotation.Overlap; then RotateKeys expires them as usual.
func (s *Server) RotateNow(ctx context.Context) ([]string, error) {
	id, err := s.addKey(ctx, store.KeyActive)
	if err != nil {
		return nil, err
	}
	return []string{fmt.Sprintf("key %d: new, active", id)}, s.reloadState(ctx)
}

// ExpireKey expires key id at once (a compromised key): every node
// refuses its reports within a second (Server.WatchKeys). Expiring the
// only active key would leave devices none to seal to, so it is refused
// (store.ErrLastActiveKey) unless replace, which stores a new active key
// in the same transaction. It returns what changed, in words.
func (s *Server) ExpireKey(ctx context.Context, id uint8, replace bool) ([]string, error) {
	changes := []string{}
	if replace {
		// The new key must not reuse id itself, which it could once id is expired.
		keys, err := s.store.Keys(ctx)
		if err != nil {
			return nil, err
		}
		if i := slices.IndexFunc(keys, func(k store.Key) bool { return k.ID == id }); i < 0 || keys[i].State == store.KeyExpired {
			return nil, fmt.Errorf("%w: key %d is not pending or active; for a new key rotate now", store.ErrNotFound, id)
		}
		fresh, err := s.newKey(ctx, store.KeyActive, func(k store.Key) error { return s.store.ReplaceKey(ctx, k, id) })
		if err != nil {
			return nil, err
		}
		changes = append(changes, fmt.Sprintf("key %d: new, active", fresh))
	} else if err := s.store.SetKeyState(ctx, id, store.KeyExpired, s.now()); err != nil {
		if errors.Is(err, store.ErrLastActiveKey) {
			err = fmt.Errorf("%w: expiring it would leave /v1/hpke-config empty; replace it in the same step instead", err)
		}
		return nil, err
	}
	return append(changes, fmt.Sprintf("key %d: expired", id)), s.reloadState(ctx)
}

// WatchKeys keeps this node's keys current until ctx ends: the store
// reports every key change (store.Store.WatchKeys — PostgreSQL
// LISTEN/NOTIFY, SQLite polling), and the node reloads at once, so a key
// expired on any node is refused here within a second, not at the next
// Config.Refresh. Run it on every serving node. A lost watch is logged
// and started again a second later; the periodic refresh goes on anyway.
func (s *Server) WatchKeys(ctx context.Context) {
	for {
		err := s.store.WatchKeys(ctx, func() {
			if err := s.reloadState(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("reloading keys after a key change", "err", err)
			}
		})
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("watching key changes; retrying in 1 s", "err", err)
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// KeyInfos lists the keys' public state.
func (s *Server) KeyInfos(ctx context.Context) ([]KeyInfo, error) {
	if err := s.reloadState(ctx); err != nil {
		return nil, err
	}
	infos := []KeyInfo{}
	for _, k := range s.state.Load().keyList {
		infos = append(infos, KeyInfo{ID: k.ID, State: k.State, CreatedAt: k.CreatedAt, ChangedAt: k.ChangedAt})
	}
	return infos, nil
}

func (s *Server) handleKeyConfig(w http.ResponseWriter, r *http.Request) {
	snap := s.current(r.Context())
	w.Header().Set("Content-Type", "application/cbor")
	// Devices must notice a rotation well before an old key expires.
	w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(int(min(s.rotation.Overlap/4, time.Hour).Seconds())))
	w.Write(snap.configs)
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) {
	infos, err := s.KeyInfos(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, infos)
}

func (s *Server) handleRotateKeys(w http.ResponseWriter, r *http.Request) {
	var changes []string
	var err error
	if r.URL.Query().Get("now") == "true" {
		changes, err = s.RotateNow(r.Context())
	} else {
		changes, err = s.RotateKeys(r.Context(), r.URL.Query().Get("force") == "true")
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	infos, err := s.KeyInfos(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.KeyRotation{Changes: changes, Keys: infos})
}
