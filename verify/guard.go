package verify

// Placement says on which side of a Guarded slice the inaccessible page is.
type Placement int

const (
	// AtEnd: the byte right after the slice is PROT_NONE (catches overruns).
	AtEnd Placement = iota
	// AtStart: the byte right before the slice is PROT_NONE (catches underruns).
	AtStart
)

func (p Placement) String() string {
	switch p {
	case AtEnd:
		return "AtEnd"
	case AtStart:
		return "AtStart"
	}
	return "Placement(?)"
}
