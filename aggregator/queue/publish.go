package queue

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wisp-project/wisp/aggregator"
)

// acceptedHeader carries when the front end accepted a report (Unix
// nanoseconds by its clock): workers judge the epoch as of then.
const acceptedHeader = "Wisp-Accepted-At"

// tokenHeader carries a report's token (base64url), which the front end
// verified and the worker claims.
const tokenHeader = "Wisp-Report-Token"

// enqueueTimeout bounds one batch's publishes and their retries: a stream
// without quorum for longer is a 503, and the device sends again later.
const enqueueTimeout = 10 * time.Second

// Enqueue publishes reports asynchronously, each with Nats-Msg-Id = its
// report id, and returns once the stream has acknowledged all of them
// (aggregator.Queue). A publish that fails for a passing reason — a
// stream leader lost or being elected, a reconnect — is sent again with
// the same id until ctx ends (at most enqueueTimeout), so a retry is
// never stored twice; a stream at its limits is aggregator.ErrQueueFull
// at once.
func (q *Queue) Enqueue(ctx context.Context, reports []aggregator.Sealed) (duplicate []bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, enqueueTimeout)
	defer cancel()
	duplicate = make([]bool, len(reports))
	todo := make([]int, len(reports))
	for i := range todo {
		todo[i] = i
	}
	for wait, first := 50*time.Millisecond, true; ; wait, first = min(2*wait, time.Second), false {
		var again []int
		var last error
		futures := make([]jetstream.PubAckFuture, len(todo))
		for j, i := range todo {
			r := &reports[i]
			m := &nats.Msg{Subject: q.subject(r.Campaign, r.ID), Data: r.Envelope, Header: nats.Header{}}
			m.Header.Set(acceptedHeader, strconv.FormatInt(r.AcceptedAt.UnixNano(), 10))
			if r.Token != nil {
				m.Header.Set(tokenHeader, base64.RawURLEncoding.EncodeToString(r.Token))
			}
			if futures[j], err = q.js.PublishMsgAsync(m, jetstream.WithMsgID(hex.EncodeToString(r.ID[:])), jetstream.WithExpectStream(q.cfg.Stream)); err != nil {
				futures = futures[:j]
				again, last = append(again, todo[j:]...), err
				break
			}
		}
		for j, f := range futures {
			select {
			case ack := <-f.Ok():
				// On a retry a duplicate may be this call's own first
				// try, stored but unacknowledged: only the first says.
				duplicate[todo[j]] = ack.Duplicate && first
			case err := <-f.Err():
				if full(err) {
					return nil, fmt.Errorf("%w: %v", aggregator.ErrQueueFull, err)
				}
				again, last = append(again, todo[j]), err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if len(again) == 0 {
			return duplicate, nil
		}
		if !transient(last) {
			return nil, fmt.Errorf("queue: publish: %w", last)
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), last)
		case <-time.After(wait):
		}
		todo = again
	}
}
