package conf

// ParseError is what every parser of this package returns for a document it refuses, and what
// [ValidateName] returns for a name libvirt would refuse.
//
// Msg reads well alone and, where libvirt has a message for the same failure, is libvirt's
// wording (so users can search it): "Invalid state 'bogus' in domain snapshot XML".
// Element and Value let programs inspect the failure without parsing the message:
//
//	var perr *conf.ParseError
//	if errors.As(err, &perr) && perr.Element == "state" {
//		fmt.Println("bad state:", perr.Value)
//	}
type ParseError struct {
	// Kind is the kind of document or name (Snapshot or Checkpoint).
	Kind Kind
	// Element names the element (or "element/@attribute") at fault: "name", "state",
	// "creationTime", "memory/@snapshot", "disk/@name", ... It is "" when the document is not
	// XML at all.
	Element string
	// Value is the offending value as written in the document, "" when it is missing.
	Value string
	// Msg is the whole message.
	Msg string
	// Err is the underlying error (an *xml.SyntaxError for malformed XML), or nil.
	Err error
}

// Error returns Msg.
func (e *ParseError) Error() string { return e.Msg }

// Unwrap returns the underlying error, if any.
func (e *ParseError) Unwrap() error { return e.Err }
