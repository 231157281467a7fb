package virt

/*
#cgo pkg-config: libvirt
#include <stdlib.h>
#include <string.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

// vmSnapshotNames lists snapshot names with virDomainSnapshotListNames (from == NULL) or
// virDomainSnapshotListChildrenNames (below from) into names, an array of maxnames; with
// maxnames 0 it only counts them (virDomainSnapshotNum / virDomainSnapshotNumChildren). It
// returns the count, or -1 with libvirt's error copied into err.
static int vmSnapshotNames(virDomainPtr dom, const char *from, unsigned int flags,
                           char **names, int maxnames, virErrorPtr err) {
	int n = -1;
	virDomainSnapshotPtr parent = NULL;
	if (from != NULL) {
		parent = virDomainSnapshotLookupByName(dom, from, 0);
		if (parent == NULL)
			goto out;
		if (maxnames == 0)
			n = virDomainSnapshotNumChildren(parent, flags);
		else
			n = virDomainSnapshotListChildrenNames(parent, names, maxnames, flags);
	} else if (maxnames == 0) {
		n = virDomainSnapshotNum(dom, flags);
	} else {
		n = virDomainSnapshotListNames(dom, names, maxnames, flags);
	}
out:
	if (n < 0)
		virCopyLastError(err);
	if (parent != NULL)
		virDomainSnapshotFree(parent);
	return n;
}

// vmCheckpointNames lists checkpoints with virDomainListAllCheckpoints (from == NULL) or
// virDomainCheckpointListAllChildren (below from), copies each name into *names (malloc'd)
// and frees every handle, all in one call. It returns the count, or -1 with libvirt's error
// copied into err.
static int vmCheckpointNames(virDomainPtr dom, const char *from, unsigned int flags,
                             char ***names, virErrorPtr err) {
	int n = -1, i;
	virDomainCheckpointPtr parent = NULL, *got = NULL;
	*names = NULL;
	if (from != NULL) {
		parent = virDomainCheckpointLookupByName(dom, from, 0);
		if (parent != NULL)
			n = virDomainCheckpointListAllChildren(parent, &got, flags);
	} else {
		n = virDomainListAllCheckpoints(dom, &got, flags);
	}
	if (n < 0) {
		virCopyLastError(err);
		goto out;
	}
	*names = calloc(n > 0 ? n : 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		const char *name = virDomainCheckpointGetName(got[i]);
		if (*names != NULL && name != NULL)
			(*names)[i] = strdup(name);
		virDomainCheckpointFree(got[i]);
	}
	free(got);
out:
	if (parent != NULL)
		virDomainCheckpointFree(parent);
	return n;
}

static void vmFreeNames(char **names, int n) {
	int i;
	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/driver/internal/load"
)

// The names-only list calls below need the C handle of a libvirt.Domain, which the Go binding
// keeps in its single unexported field. This assertion breaks the build if that layout ever
// changes; TestDomainPointer checks that the pointer read is the domain's.
var _ = [1]struct{}{}[unsafe.Sizeof(libvirt.Domain{})-unsafe.Sizeof(C.virDomainPtr(nil))]

// domainPtr returns dom's C handle (see above).
func domainPtr(dom *libvirt.Domain) C.virDomainPtr {
	return *(*C.virDomainPtr)(unsafe.Pointer(dom))
}

// domainNameC asks libvirt for the name of the domain behind domainPtr (for its test).
func domainNameC(dom *libvirt.Domain) string {
	return C.GoString(C.virDomainGetName(domainPtr(dom)))
}

// snapshotListMax is libvirt's REMOTE_DOMAIN_SNAPSHOT_LIST_MAX, the most names one list
// answer carries (libvirtd and its client library refuse more).
const snapshotListMax = 16384

// snapshotNames lists snapshot names without creating a handle per snapshot, as a refresh
// needs: the Go binding's SnapshotListNames stops at 1024 names, and ListAllSnapshots makes,
// names and frees one object per snapshot, most of a refresh's client CPU.
//
// libvirtd 9.0 crashes when more snapshots match a names call than its maximum
// (docs/libvirt-bugs.md B20: it encodes as many names as matched from an array of maximum
// entries), so the call is never made with a maximum that could be too small: it counts first
// (virDomainSnapshotNum, same flags) and asks with libvirt's largest maximum, 16,384, which
// only snapshots created between the two calls beyond that limit could overrun. A count past
// the limit is asked for as counted, so that the client library refuses it with libvirt's own
// error ("too many remote strings: 20000 > 16384") without a call to libvirtd, and load splits
// the list into pieces as it does for ListAllSnapshots' refusal.
func snapshotNames(dom *libvirt.Domain, from string, flags uint32) ([]string, error) {
	var cFrom *C.char
	if from != "" {
		cFrom = C.CString(from)
		defer C.free(unsafe.Pointer(cFrom))
	}
	var cerr C.virError
	counted := C.vmSnapshotNames(domainPtr(dom), cFrom, C.uint(flags), nil, 0, &cerr)
	if counted < 0 {
		return nil, cError(&cerr)
	}
	room := snapshotListMax
	if int(counted) > snapshotListMax {
		room = int(counted) // refused by the client library, with libvirt's message
	}
	names, full, err := snapshotNamesInto(dom, cFrom, flags, room)
	if err == nil && full {
		// Grown to libvirt's limit since the count: refused as ListAll would be.
		return nil, &load.Classified{Class: load.TooMany, Err: fmt.Errorf(
			"too many remote strings: %d or more snapshots listed with flags 0x%x", room, flags)}
	}
	return names, err
}

// snapshotNamesInto makes one names call with room names; full reports that the answer
// filled the room (more names may exist).
func snapshotNamesInto(dom *libvirt.Domain, cFrom *C.char, flags uint32, room int) (names []string, full bool, err error) {
	arr := (**C.char)(C.calloc(C.size_t(max(room, 1)), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	if arr == nil {
		return nil, false, fmt.Errorf("cannot allocate room for %d snapshot names", room)
	}
	var cerr C.virError
	n := int(C.vmSnapshotNames(domainPtr(dom), cFrom, C.uint(flags), arr, C.int(room), &cerr))
	if n < 0 {
		C.free(unsafe.Pointer(arr))
		return nil, false, cError(&cerr)
	}
	got := min(n, room) // libvirtd reports how many matched, but fills at most room
	names = goStrings(arr, got)
	C.vmFreeNames(arr, C.int(got))
	return names, n >= room, nil
}

// checkpointNames lists checkpoint names; libvirt has no names-only call for checkpoints, so
// the handles ListAll makes are named and freed in C, one call for the whole list.
func checkpointNames(dom *libvirt.Domain, from string, flags uint32) ([]string, error) {
	var cFrom *C.char
	if from != "" {
		cFrom = C.CString(from)
		defer C.free(unsafe.Pointer(cFrom))
	}
	var (
		cerr C.virError
		arr  **C.char
	)
	n := int(C.vmCheckpointNames(domainPtr(dom), cFrom, C.uint(flags), &arr, &cerr))
	if n < 0 {
		return nil, cError(&cerr)
	}
	defer C.vmFreeNames(arr, C.int(n))
	if arr == nil && n > 0 {
		return nil, fmt.Errorf("cannot allocate room for %d checkpoint names", n)
	}
	names := goStrings(arr, n)
	for i, name := range names {
		if name == "" {
			return nil, fmt.Errorf("checkpoint %d of %d listed has no name", i+1, n)
		}
	}
	return names, nil
}

// goStrings copies n C strings from arr (a NULL string becomes "").
func goStrings(arr **C.char, n int) []string {
	if n == 0 {
		return []string{}
	}
	out := make([]string, n)
	for i, p := range unsafe.Slice(arr, n) {
		if p != nil {
			out[i] = C.GoString(p)
		}
	}
	return out
}

// cError turns a copied virError into the binding's libvirt.Error, as its own calls return,
// and releases the copy.
func cError(cerr *C.virError) error {
	defer C.virResetError(cerr)
	return libvirt.Error{
		Code:    libvirt.ErrorNumber(cerr.code),
		Domain:  libvirt.ErrorDomain(cerr.domain),
		Message: C.GoString(cerr.message),
		Level:   libvirt.ErrorLevel(cerr.level),
	}
}
