package httpapi

import (
	"context"
	"errors"
	"testing"
	"time"
)

// semStep acquires n bytes in a goroutine; its channel gets acquire's error.
func semStep(s *byteSemaphore, ctx context.Context, n int64, wait time.Duration) chan error {
	ch := make(chan error, 1)
	go func() {
		_, _, err := s.acquire(ctx, n, wait)
		ch <- err
	}()
	return ch
}

// waitingIs waits until n acquires are queued.
func waitingIs(t *testing.T, s *byteSemaphore, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, _, w := s.stats(); w == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never %d waiting", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func pending(ch chan error) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// TestByteSemaphoreOrder: waiters are admitted in arrival order (a light
// one does not overtake a heavy one ahead of it), a waiter that gives up
// lets the ones behind it in, and a request heavier than the budget takes
// the whole of it.
func TestByteSemaphoreOrder(t *testing.T) {
	s := byteSemaphore{budget: 10}
	ctx := context.Background()
	a, _, err := s.acquire(ctx, 6, time.Hour)
	if err != nil || a != 6 {
		t.Fatalf("first acquire: %d %v", a, err)
	}
	heavyCtx, giveUp := context.WithCancel(ctx)
	heavy := semStep(&s, heavyCtx, 6, time.Hour)
	waitingIs(t, &s, 1)
	light := semStep(&s, ctx, 2, time.Hour) // fits, but arrives after heavy
	waitingIs(t, &s, 2)
	if !pending(light) {
		t.Fatal("a light waiter overtook the heavy one ahead of it")
	}
	giveUp()
	if err := <-heavy; !errors.Is(err, context.Canceled) {
		t.Fatalf("heavy waiter gave up: %v", err)
	}
	if err := <-light; err != nil {
		t.Fatalf("light waiter behind the one that gave up: %v", err)
	}
	if used, _, w := s.stats(); used != 8 || w != 0 {
		t.Fatalf("in use %d, waiting %d; want 8, 0", used, w)
	}

	timedOut := semStep(&s, ctx, 5, time.Millisecond)
	if err := <-timedOut; !errors.Is(err, errSemaphoreTimeout) {
		t.Fatalf("waiter past its wait: %v", err)
	}
	s.release(2)
	s.release(6)
	if used, peak, w := s.stats(); used != 0 || peak != 8 || w != 0 {
		t.Fatalf("in use %d, peak %d, waiting %d; want 0, 8, 0", used, peak, w)
	}

	n, waited, err := s.acquire(ctx, 1<<40, time.Hour)
	if err != nil || waited || n != 10 {
		t.Fatalf("acquire over the budget: %d %v %v, want the whole budget at once", n, waited, err)
	}
	next := semStep(&s, ctx, 1, time.Hour)
	waitingIs(t, &s, 1)
	s.release(n)
	if err := <-next; err != nil {
		t.Fatal(err)
	}
}
