package transfer

import (
	"context"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// fetcher gets moments' XML for an export or a comparison. Without Secure it uses the XML the
// driver loaded (GetXMLDesc with no flags). With Secure it asks libvirt with the SECURE flag
// through the driver, which uses its read-write connection for that (libvirt refuses the flag on
// read-only ones: a driver opened read-only returns that refusal, with a hint).
type fetcher struct {
	dom    driver.Reader
	secure bool
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
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}
