package insights

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

func callerCtx(id int64) context.Context {
	return usage.WithActor(context.Background(), &usage.Actor{Type: usage.ActorClassicPAT, ID: id})
}

func isBusy(err error) bool {
	var ue *usage.Error
	return errors.As(err, &ue) && ue.Kind == usage.KindRateLimited && ue.Status == 429 && ue.RetryAfter > 0
}

// TestGateOneCallerCannotTakeEverySlot: a caller holding its slot and its
// queue is refused at once (429, Retry-After), while another caller is
// admitted to the free slot; a waiting request gets the slot when it is
// released, and one that waits too long is refused.
func TestGateOneCallerCannotTakeEverySlot(t *testing.T) {
	g := NewGate(GateConfig{Slots: 2, PerCaller: 1, MaxWaiting: 1, Wait: time.Hour})
	relA, err := g.Acquire(callerCtx(1))
	if err != nil {
		t.Fatal(err)
	}
	// A's second request waits for A's slot (one may wait).
	got := make(chan error, 1)
	var relA2 func()
	go func() {
		var err error
		relA2, err = g.Acquire(callerCtx(1))
		got <- err
	}()
	// Wait until it is queued, then a third from A is refused at once.
	for {
		g.mu.Lock()
		n := g.callers[callerKey{usage.ActorClassicPAT, 1}].pending
		g.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := g.Acquire(callerCtx(1)); !isBusy(err) {
		t.Fatalf("third concurrent list request of one caller: %v, want a 429 secondary limit", err)
	}
	// Another caller takes the second slot without waiting for A.
	relB, err := g.Acquire(callerCtx(2))
	if err != nil {
		t.Fatalf("another caller was not admitted while the first held its slot: %v", err)
	}
	select {
	case err := <-got:
		t.Fatalf("A's second request was admitted while A held its slot: %v", err)
	default:
	}
	relA()
	if err := <-got; err != nil {
		t.Fatalf("A's queued request after A's release: %v", err)
	}
	relA2()
	relB()
	relB() // releasing twice gives back one slot

	// A request that waits longer than Wait is refused.
	g = NewGate(GateConfig{Slots: 1, PerCaller: 1, MaxWaiting: 4, Wait: 20 * time.Millisecond})
	rel, err := g.Acquire(callerCtx(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Acquire(callerCtx(2)); !isBusy(err) {
		t.Fatalf("request that waited past Wait: %v, want a 429 secondary limit", err)
	}
	// A cancelled request gives up its place.
	ctx, cancel := context.WithCancel(callerCtx(3))
	cancel()
	if _, err := g.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	rel()
	if rel, err := g.Acquire(callerCtx(2)); err != nil {
		t.Fatalf("slot not given back: %v", err)
	} else {
		rel()
	}
	if len(g.callers) != 0 {
		t.Errorf("callers left behind: %d", len(g.callers))
	}
}
