package driver

import (
	"context"

	"github.com/vmoments/vmoments/conf"
)

// Batcher is implemented by a [Domain] that can carry out many changes of one kind as one batch
// (the QEMU and test drivers' domains do). Callers use it through [Batch].
//
// Outside a batch every change brings the loaded list up to date first (a names call to
// libvirt, which lists every name) and publishes a new copy of the list afterwards, so that the
// moments handed out earlier stay valid: two steps that cost in proportion to the list, which a
// thousand redefinitions in a row (an import) pay a thousand times. A batch pays them once: the
// list is refreshed when the batch begins, each change is applied to the batch's own copy of it
// in place, and that copy is published when the batch ends.
type Batcher interface {
	// Batch runs fn with a Domain on which the changes of kind form one batch; see [Batch].
	Batch(ctx context.Context, kind conf.Kind, flags BatchFlags, fn func(b Domain) error) error
}

// BatchFlags tune a batch.
type BatchFlags uint

const (
	// BatchNoReadBack applies a redefinition in the batch (SnapshotCreateRedefine,
	// CheckpointCreateRedefine) to the list from the XML the caller passed, parsed as libvirt
	// parses a redefinition, instead of from the XML libvirt gives back for the moment: one
	// libvirt call less per redefinition (the read-back is as costly as the lookup virsh makes
	// per command). Such a moment's Def().Raw() is nil, so nothing the caller passed (a
	// SECURE definition's passwords) is ever served as libvirt's XML: Reader.XML asks libvirt.
	// It is for callers that redefine moments from libvirt's own XML of them (an import of an
	// export): libvirt fills in what a hand-written redefinition leaves out (the disks of a
	// snapshot that lists none), which the list then lacks until a Reload.
	BatchNoReadBack BatchFlags = 1 << iota
)

// Batch runs fn with b, a Domain whose changes of kind are carried out as one batch when dom
// implements [Batcher], and with dom itself otherwise (every change then refreshes and
// publishes on its own, with the same result). It returns fn's error, or the batch's own when
// fn succeeded (a failed refresh at its start, a read-only driver).
//
// What b does differently, for kind only (the other kind passes through to dom unchanged):
//   - The list is refreshed once, before fn runs. Each change of kind is passed to libvirt with
//     libvirt's flags exactly as outside a batch, and applied to the batch's copy of the list
//     the way libvirt applies it (a redefined moment's definition is the one libvirt gives back,
//     as outside a batch, unless flags has BatchNoReadBack), but without a refresh before it or
//     a new copy after it. Changes made
//     by others while the batch runs are not looked for; the first read after the batch finds
//     them, as every read does.
//   - b's reads of kind (List, Current, Def) answer from the batch's copy without asking libvirt;
//     moments they return may change with b's next change, unlike those of a published list.
//     Moments returns a private copy, as always. Reload loads afresh into the batch.
//   - When fn returns, the copy is published, so dom's next read sees every change of the batch
//     (also when fn failed halfway: what libvirt did is in the list). For snapshots the
//     batch then asks libvirt for its current snapshot once and loads the list afresh if it
//     differs, as a single change does after each change.
//   - While the batch runs, the other goroutines' reads and changes of kind on dom wait for it
//     (the kind's lock is held); b's own calls may come from several goroutines, one at a time.
//     b must not be used after fn returns: its calls then fail with [ErrClosed].
//
// A batch changes nothing by itself: a batch in which fn makes no change leaves libvirt and the
// list as a read would.
func Batch(ctx context.Context, dom Domain, kind conf.Kind, flags BatchFlags, fn func(b Domain) error) error {
	if b, ok := dom.(Batcher); ok {
		return b.Batch(ctx, kind, flags, fn)
	}
	return fn(dom)
}
