package transfer

import (
	"context"
	"errors"
	"sync"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// fetcher gets moments' XML for an export or a comparison. Without Secure it uses the XML the
// driver loaded (GetXMLDesc with no flags). With Secure it asks libvirt with the SECURE flag;
// drivers read through read-only connections, on which libvirt refuses that flag ("operation
// forbidden: virDomainSnapshotGetXMLDesc with secure flag"), so after that refusal the XML is
// fetched through a read-write connection of its own, opened once, as virsh would fetch it.
type fetcher struct {
	dom    driver.Domain
	secure bool

	mu   sync.Mutex
	conn *libvirt.Connect
	h    *libvirt.Domain
}

func (f *fetcher) xml(ctx context.Context, kind conf.Kind, m *momentlist.Moment) ([]byte, error) {
	if raw := m.Def().Raw(); raw != nil && !f.secure {
		return raw, nil
	}
	var flags driver.XMLFlags
	if f.secure {
		flags = driver.XMLSecure
	}
	s, err := f.dom.XML(ctx, kind, m.Name(), flags)
	var lerr libvirt.Error
	if err != nil && f.secure && errors.As(err, &lerr) && lerr.Code == libvirt.ERR_OPERATION_DENIED {
		if s2, err2 := f.readWrite(kind, m.Name()); err2 == nil {
			return []byte(s2), nil
		}
	}
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

func (f *fetcher) readWrite(kind conf.Kind, name string) (string, error) {
	u, ok := f.dom.(interface{ URI() string })
	if !ok {
		return "", errors.New("no URI")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn == nil {
		conn, err := libvirt.NewConnect(u.URI())
		if err != nil {
			return "", err
		}
		h, err := conn.LookupDomainByUUIDString(f.dom.UUID())
		if err != nil {
			conn.Close()
			return "", err
		}
		f.conn, f.h = conn, h
	}
	if kind == conf.Snapshot {
		s, err := f.h.SnapshotLookupByName(name, 0)
		if err != nil {
			return "", err
		}
		defer s.Free()
		return s.GetXMLDesc(libvirt.DOMAIN_SNAPSHOT_XML_SECURE)
	}
	c, err := f.h.CheckpointLookupByName(name, 0)
	if err != nil {
		return "", err
	}
	defer c.Free()
	return c.GetXMLDesc(libvirt.DOMAIN_CHECKPOINT_XML_SECURE)
}

func (f *fetcher) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.h != nil {
		f.h.Free()
	}
	if f.conn != nil {
		f.conn.Close()
	}
	f.conn, f.h = nil, nil
}
