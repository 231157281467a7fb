package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vmoments/vmoments/driver"
)

// CopyOptions tune Copy.
type CopyOptions struct {
	Export ExportOptions
	Import ImportOptions
	// RemoveSource deletes the source's metadata of the copied moments once the destination
	// has them all (metadata only, children before parents), so that libvirt lets the domain
	// migrate ("cannot migrate domain with N snapshots").
	RemoveSource bool
}

// CopyResult is what Copy did.
type CopyResult struct {
	Manifest *Manifest
	Import   *Result
	// Removed counts the source moments whose metadata was deleted.
	Removed  int
	Duration time.Duration
}

// Copy exports the moments of src into memory and imports them on dst (another connection's
// domain with the same UUID). A failed import leaves dst as it was and src untouched. With
// RemoveSource the source's metadata is deleted only after the import succeeded; if a deletion
// fails, the deleted moments are redefined on the source again from the export, so both sides
// stay complete.
func Copy(ctx context.Context, src, dst driver.Domain, opts CopyOptions) (*CopyResult, error) {
	start := time.Now()
	if su, du := src.Driver().URI(), dst.Driver().URI(); su != "" && strings.EqualFold(su, du) {
		// Copying onto itself would skip everything, and RemoveSource would then delete the
		// only copy.
		return nil, fmt.Errorf("copy: the source and the destination are the same connection (%s)", su)
	}
	mem := NewMemory()
	m, err := ExportTo(ctx, src, mem, opts.Export)
	if err != nil {
		return nil, fmt.Errorf("copy: export from domain %q: %w", src.Name(), err)
	}
	res, err := ImportFrom(ctx, dst, mem, opts.Import)
	if err != nil {
		return nil, fmt.Errorf("copy: import on the destination: %w (the source is untouched)", err)
	}
	out := &CopyResult{Manifest: m, Import: res}
	if opts.RemoveSource {
		n, err := RemoveMetadata(ctx, src, m, opts.Import.Progress)
		out.Removed = n
		if err != nil {
			// Put the source back as it was: the export has every definition.
			restoreOpts := ImportOptions{Progress: opts.Import.Progress}
			if _, rerr := ImportFrom(context.WithoutCancel(ctx), src, mem, restoreOpts); rerr != nil {
				return out, fmt.Errorf("copy: removing the source's metadata failed: %w; restoring it failed too: %v", err, rerr)
			}
			return out, fmt.Errorf("copy: removing the source's metadata failed: %w (the source's moments were redefined again; the destination has them all)", err)
		}
	}
	out.Duration = time.Since(start)
	return out, nil
}

// RemoveMetadata makes libvirt forget the moments the manifest lists (metadata only: disks and
// bitmaps stay), children before parents, and returns how many it removed. It stops at the first
// failure.
func RemoveMetadata(ctx context.Context, dom driver.Domain, m *Manifest, progress ProgressFunc) (int, error) {
	n := 0
	// The manifest lists each kind parents first; backwards, every moment comes after all of
	// its descendants, so each is a leaf when it goes.
	for i := len(m.Moments) - 1; i >= 0; i-- {
		e := m.Moments[i]
		kind, err := kindOf(e.Kind)
		if err != nil {
			return n, err
		}
		if err := deleteMetadata(ctx, dom, kind, e.Name); err != nil {
			if errors.Is(err, driver.ErrNotFound) {
				continue
			}
			return n, fmt.Errorf("remove %s %q: %w", e.Kind, e.Name, err)
		}
		n++
		progress.report("remove source", n, len(m.Moments))
	}
	return n, nil
}
