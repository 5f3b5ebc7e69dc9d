package aggregator

import (
	"context"
	"fmt"
	"net/http"
)

// Prio3Batch is the state of one (campaign, epoch) batch of a prio3
// campaign at this aggregator, as GET /v1/campaigns/{id}/batches reports
// it: where the batch is, and why a closed one is not released yet.
type Prio3Batch struct {
	Epoch      uint32 `json:"epoch"`
	Pending    int64  `json:"pending"`    // accepted, not prepared with the helper yet
	Aggregated int64  `json:"aggregated"` // in this aggregator's aggregate share
	Rejected   int64  `json:"rejected"`   // refused by preparation at either aggregator
	Collected  bool   `json:"collected"`  // this aggregator's noised share is stored
	// Status is "open" (the epoch takes reports), "due" (closed; the next
	// release pass collects it), "blocked" (closed, and the last attempt
	// failed: Error says why, e.g. the helper is down; nothing is lost and
	// the next pass retries) or "released".
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Prio3Batches returns the prio3 batches of a campaign p may see (none
// for an LDP campaign).
func (s *Server) Prio3Batches(ctx context.Context, p Principal, id string) ([]Prio3Batch, error) {
	r, err := s.visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	batches, err := s.store.Prio3Batches(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	done, err := s.releasedEpochs(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	list := make([]Prio3Batch, 0, len(batches))
	for _, b := range batches {
		st := Prio3Batch{Epoch: b.Epoch, Pending: b.Pending, Aggregated: b.Aggregated, Rejected: b.Rejected, Collected: b.Collected, Status: "due"}
		switch {
		case done[b.Epoch]:
			st.Status = "released"
		case !s.releasable(&r.Campaign, b.Epoch, now):
			st.Status = "open"
		default:
			if e, ok := s.prio3.blocked.Load(batchKey(r.ID, b.Epoch)); ok {
				st.Status, st.Error = "blocked", e.(string)
			}
		}
		list = append(list, st)
	}
	return list, nil
}

func batchKey(campaign string, epoch uint32) string { return fmt.Sprintf("%s/%d", campaign, epoch) }

// noteBatch records why a batch's last collection failed (nil: it did not).
func (s *Server) noteBatch(campaign string, epoch uint32, err error) {
	if err == nil {
		s.prio3.blocked.Delete(batchKey(campaign, epoch))
		return
	}
	s.prio3.blocked.Store(batchKey(campaign, epoch), err.Error())
}

func (s *Server) handlePrio3Batches(w http.ResponseWriter, r *http.Request) {
	list, err := s.Prio3Batches(r.Context(), principalOf(r.Context()), r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Batches []Prio3Batch `json:"batches"`
	}{list})
}
