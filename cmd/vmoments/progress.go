package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/vmoments/vmoments/conf"
)

// progress draws "KINDs: fetched/total" on a terminal once a load has taken longer than delay,
// and erases it when the load ends.
type progress struct {
	w     interface{ Write([]byte) (int, error) }
	kind  conf.Kind
	start time.Time
	delay time.Duration
	mu    sync.Mutex
	shown bool
}

func (p *progress) update(fetched, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.start) < p.delay {
		return
	}
	p.shown = true
	fmt.Fprintf(p.w, "\r%ss: %d/%d", p.kind, fetched, total)
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// progressLine draws "PHASE: done/total" on stderr when it is a terminal, once a transfer
// (export, import, copy) has run longer than progressDelay, and erases it at the end.
type progressLine struct {
	a     *app
	on    bool
	start time.Time
	mu    sync.Mutex
	shown bool
}

func (a *app) transferProgress(quiet bool) *progressLine {
	return &progressLine{a: a, on: a.stderrTTY && !quiet, start: time.Now()}
}

// progressDelay is how long a transfer runs before its progress line appears.
var progressDelay = 500 * time.Millisecond

func (p *progressLine) report(phase string, done, total int) {
	if !p.on || time.Since(p.start) < progressDelay {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown = true
	fmt.Fprintf(p.a.stderr, "\r\x1b[K%s: %d/%d", phase, done, total)
}

func (p *progressLine) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.a.stderr, "\r\x1b[K")
		p.shown = false
	}
}
