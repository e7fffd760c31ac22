package gen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits keep the generated code a sane size. Every error that enforces one
// states it, so users do not have to look them up.
const (
	maxChannels   = 4096  // cin, cout
	maxKernel     = 11    // kh, kw
	maxStride     = 8     // stride_h, stride_w
	maxDilation   = 8     // dilation_h, dilation_w
	maxWeights    = 16384 // (cin/groups)*kh*kw: weights per output channel
	maxLayers     = 256
	maxNameLength = 64
	maxInput      = 4096 // the benchmark image's h, w
)

// inlineSource is the Source of layers given with the CLI's -layer flag.
const inlineSource = "-layer"

// Spec is a parsed and validated layer spec.
type Spec struct {
	Source  string // file name used in errors ("layers.json", or "-layer" for inline)
	Package string
	Layers  []Layer
	Blocks  []Block // fused depthwise-separable pairs, see Block
}

// Layer is one convolution layer of a spec.
type Layer struct {
	Name                 string
	Index                int    // 1-based position in the spec, for errors
	Source               string // where it came from (file name or "-layer")
	Cin, Cout            int
	KH, KW               int
	Groups               int
	StrideH, StrideW     int
	DilationH, DilationW int
	Pad                  Padding
	Bias                 bool
	Act                  Activation
	InputH, InputW       int  // optional image size for the generated benchmark; 0 when not given
	Shuffle              int  // ShuffleNet channel shuffle of the output with this many groups; 0 or 1: none
	NCHW                 bool // layout "nchw": activations [n][c][h][w]; default "nhwc"
}

// Padding is the zero padding around the input.
type Padding struct {
	Top, Left, Bottom, Right int
	Same                     bool // TensorFlow "same": computed from the input size at run time
}

// ActKind is the kind of activation applied after the convolution.
type ActKind int

const (
	ActNone ActKind = iota
	ActReLU
	ActReLU6
	ActClamp
)

func (k ActKind) String() string {
	switch k {
	case ActNone:
		return "none"
	case ActReLU:
		return "relu"
	case ActReLU6:
		return "relu6"
	case ActClamp:
		return "clamp"
	}
	return fmt.Sprintf("ActKind(%d)", int(k))
}

// Activation is a layer's activation. Every kind is a clamp, so code
// generators only need Min and Max; Kind is kept for names and messages.
type Activation struct {
	Kind     ActKind
	Min, Max float32 // the effective clamp: none → -Inf,+Inf; relu → 0,+Inf; relu6 → 0,6; clamp → given (missing side ±Inf)
}

// NewActivation returns the activation of the given kind with its effective
// clamp filled in; for ActClamp the clamp is unbounded (see NewClamp). Use it
// rather than Activation{Kind: k}, whose zero Min/Max would clamp to 0.
func NewActivation(kind ActKind) Activation {
	inf := float32(math.Inf(1))
	switch kind {
	case ActReLU:
		return Activation{Kind: ActReLU, Min: 0, Max: inf}
	case ActReLU6:
		return Activation{Kind: ActReLU6, Min: 0, Max: 6}
	}
	return Activation{Kind: kind, Min: -inf, Max: inf}
}

// NewClamp returns a clamp to [min, max]; pass ±Inf for an unbounded side.
func NewClamp(min, max float32) Activation {
	return Activation{Kind: ActClamp, Min: min, Max: max}
}

// String returns "none", "relu", "relu6" or "clamp(min,max)".
func (a Activation) String() string {
	if a.Kind == ActClamp {
		return "clamp(" + formatFloat32(a.Min) + "," + formatFloat32(a.Max) + ")"
	}
	return a.Kind.String()
}

// problem describes what is wrong with a, or returns "".
func (a Activation) problem() string {
	switch a.Kind {
	case ActNone, ActReLU, ActReLU6:
		if want := NewActivation(a.Kind); a != want {
			return fmt.Sprintf("min,max must be %s,%s for %s, got %s,%s (build it with NewActivation)",
				formatFloat32(want.Min), formatFloat32(want.Max), a.Kind,
				formatFloat32(a.Min), formatFloat32(a.Max))
		}
	case ActClamp:
		if a.Min != a.Min || a.Max != a.Max {
			return "min and max must be numbers, not NaN"
		}
		if a.Min > a.Max {
			return fmt.Sprintf("min %s must not be greater than max %s", formatFloat32(a.Min), formatFloat32(a.Max))
		}
	default:
		return fmt.Sprintf("unknown activation kind %d", int(a.Kind))
	}
	return ""
}

func formatFloat32(f float32) string {
	return strconv.FormatFloat(float64(f), 'g', -1, 32)
}

// SpanH is the height the kernel covers in the input: (kh-1)*dilation_h+1.
func (l Layer) SpanH() int { return (l.KH-1)*l.DilationH + 1 }

// SpanW is the width the kernel covers in the input: (kw-1)*dilation_w+1.
func (l Layer) SpanW() int { return (l.KW-1)*l.DilationW + 1 }

// Depthwise reports whether every group has exactly one input channel. This
// includes channel multipliers (cout = m*cin).
func (l Layer) Depthwise() bool { return l.Groups == l.Cin }

// Validate checks l on its own (no cross-layer rules) and returns all
// problems joined, one per line.
func (l Layer) Validate() error {
	p := newProblems(&l)
	p.checkLayer()
	return errors.Join(p.errs...)
}

// Validate checks every layer, the rules between layers (unique names, no
// clashing Go names) and the package name. It returns all problems joined
// with errors.Join, one per line, in spec order.
func (s *Spec) Validate() error {
	return errors.Join(s.check(nil, nil, false)...)
}

// check validates s. ParseSpec passes in what it found while parsing: top
// holds top-level problems, parsed[i] the problems of layer i (so fields that
// failed to parse are not checked again), and layersReported says that a
// malformed "layers" was already reported.
func (s *Spec) check(top []error, parsed []*problems, layersReported bool) []error {
	errs := top
	if s.Package != "" {
		if err := ValidPackageName(s.Package); err != nil {
			errs = append(errs, errors.New(prefix(s.Source, err.Error())))
		}
	}
	switch {
	case len(s.Layers) == 0 && !layersReported:
		errs = append(errs, errors.New(prefix(s.Source, "no layers")))
	case len(s.Layers) > maxLayers:
		errs = append(errs, errors.New(prefix(s.Source,
			fmt.Sprintf("%d layers: at most %d are allowed", len(s.Layers), maxLayers))))
	}

	// Work on copies so that layers built in code (no Index or Source)
	// still get useful error prefixes.
	layers := make([]Layer, len(s.Layers))
	for i, l := range s.Layers {
		if l.Index == 0 {
			l.Index = i + 1
		}
		if l.Source == "" {
			l.Source = s.Source
		}
		layers[i] = l
	}

	firstName := map[string]int{} // layer name → index of its first use
	firstType := map[string]int{} // Go type name → index of its first use
	for i := range layers {
		var p *problems
		if parsed != nil {
			p = parsed[i]
			p.l = &layers[i]
		} else {
			p = newProblems(&layers[i])
		}
		p.checkLayer()
		p.checkNames(i, layers, firstName, firstType)
		errs = append(errs, p.errs...)
	}
	return append(errs, s.checkBlocks(layers)...)
}

// prefix puts the source in front of a message, if there is one.
func prefix(source, msg string) string {
	if source == "" {
		return msg
	}
	return source + ": " + msg
}

// where is the start of every error about l:
// `layers.json: layer 2 "dw1"` or `-layer 2: layer "dw1"`.
func (l Layer) where() string {
	if l.Source == inlineSource {
		s := fmt.Sprintf("%s %d", inlineSource, l.Index)
		if l.Name != "" {
			s += ": layer " + quoteShort(l.Name)
		}
		return s
	}
	s := fmt.Sprintf("layer %d", l.Index)
	if l.Name != "" {
		s += " " + quoteShort(l.Name)
	}
	return prefix(l.Source, s)
}

// ref names l in an error about another layer, from: "layer 1" or
// "-layer 1", with the file name only when the two come from different places.
func (l Layer) ref(from Layer) string {
	if l.Source == inlineSource {
		return fmt.Sprintf("%s %d", inlineSource, l.Index)
	}
	s := fmt.Sprintf("layer %d", l.Index)
	if l.Source != from.Source && l.Source != "" {
		s = l.Source + " " + s
	}
	return s
}

// quoteShort quotes s, shortened so that a huge name does not flood every
// message about its layer.
func quoteShort(s string) string {
	const limit = maxNameLength + 8
	if utf8.RuneCountInString(s) <= limit {
		return strconv.Quote(s)
	}
	return strconv.Quote(string([]rune(s)[:limit]) + "...")
}

// pair shows an int-or-pair field the way the user would write it.
func (l Layer) pair(h, w int) string {
	switch {
	case h == w:
		return strconv.Itoa(h)
	case l.Source == inlineSource:
		return fmt.Sprintf("%dx%d", h, w)
	}
	return fmt.Sprintf("[%d,%d]", h, w)
}

// padString shows l.Pad the way the user would write it.
func (l Layer) padString() string {
	p := l.Pad
	switch {
	case p.Same:
		return "same"
	case p.Top == p.Bottom && p.Left == p.Right:
		return l.pair(p.Top, p.Left)
	case l.Source == inlineSource:
		return fmt.Sprintf("%dx%dx%dx%d", p.Top, p.Left, p.Bottom, p.Right)
	}
	return fmt.Sprintf("[%d,%d,%d,%d]", p.Top, p.Left, p.Bottom, p.Right)
}

// problems collects the errors found in one layer. bad records the fields
// already reported, so that rules depending on them stay quiet instead of
// piling up follow-on errors (no "groups=4 does not divide cin=0" after
// "cin=0: ...").
type problems struct {
	l    *Layer
	errs []error
	bad  map[string]bool
}

func newProblems(l *Layer) *problems {
	return &problems{l: l, bad: map[string]bool{}}
}

// addf records a problem with field (which may be "" for none).
func (p *problems) addf(field, format string, args ...any) {
	p.errs = append(p.errs, errors.New(p.l.where()+": "+fmt.Sprintf(format, args...)))
	if field != "" {
		p.bad[field] = true
	}
}

// ok reports whether none of the fields has been reported.
func (p *problems) ok(fields ...string) bool {
	for _, f := range fields {
		if p.bad[f] {
			return false
		}
	}
	return true
}

// checkLayer applies the rules for a single layer.
func (p *problems) checkLayer() {
	l := p.l
	if p.ok("name") {
		if msg := layerNameProblem(l.Name); msg != "" {
			p.addf("name", "%s", msg)
		}
	}
	for _, c := range []struct {
		field string
		n     int
	}{{"cin", l.Cin}, {"cout", l.Cout}} {
		if p.ok(c.field) && (c.n < 1 || c.n > maxChannels) {
			p.addf(c.field, "%s=%d: channel count must be between 1 and %d", c.field, c.n, maxChannels)
		}
	}
	p.checkPair("k", "kernel size", l.KH, l.KW, maxKernel)

	if p.ok("groups") {
		if l.Groups < 1 {
			p.addf("groups", "groups=%d: groups must be at least 1", l.Groups)
		} else {
			// Report both so that one fix suffices.
			divides := true
			for _, c := range []struct {
				field string
				n     int
			}{{"cin", l.Cin}, {"cout", l.Cout}} {
				if p.ok(c.field) && c.n%l.Groups != 0 {
					p.addf("", "groups=%d does not divide %s=%d", l.Groups, c.field, c.n)
					divides = false
				}
			}
			if !divides {
				p.bad["groups"] = true
			}
		}
	}

	p.checkPair("stride", "stride", l.StrideH, l.StrideW, maxStride)
	if p.ok("shuffle", "cout") && l.Shuffle != 0 {
		switch {
		case l.Shuffle < 1:
			p.addf("shuffle", "shuffle=%d: the number of shuffle groups must be at least 1", l.Shuffle)
		case l.Cout%l.Shuffle != 0:
			p.addf("shuffle", "shuffle=%d does not divide cout=%d", l.Shuffle, l.Cout)
		}
	}
	if l.InputH != 0 || l.InputW != 0 {
		p.checkPair("input", "input size", l.InputH, l.InputW, maxInput)
		if p.ok("input", "k", "stride", "dilation", "pad") && !l.Pad.Same &&
			(l.InputH+l.Pad.Top+l.Pad.Bottom < l.SpanH() || l.InputW+l.Pad.Left+l.Pad.Right < l.SpanW()) {
			p.addf("input", "input=%s: smaller than the kernel span %s with padding", l.pair(l.InputH, l.InputW), l.pair(l.SpanH(), l.SpanW()))
		}
	}
	p.checkPair("dilation", "dilation", l.DilationH, l.DilationW, maxDilation)
	p.checkPad()

	if p.ok("act") {
		if msg := l.Act.problem(); msg != "" {
			p.addf("act", "act=%s: %s", l.Act, msg)
		}
	}

	if p.ok("cin", "groups", "k") {
		per := l.Cin / l.Groups
		if n := per * l.KH * l.KW; n > maxWeights {
			p.addf("", "(cin/groups)*kh*kw = %d*%d*%d = %d: weights per output channel must be at most %d",
				per, l.KH, l.KW, n, maxWeights)
		}
	}
}

// checkPair checks that both halves of an int-or-pair field are in [1, max].
func (p *problems) checkPair(field, what string, h, w, max int) {
	if !p.ok(field) {
		return
	}
	if h < 1 || h > max || w < 1 || w > max {
		p.addf(field, "%s=%s: %s must be between 1 and %d", field, p.l.pair(h, w), what, max)
	}
}

// checkPad checks explicit padding: not negative, and each side smaller than
// the kernel's span on its axis, so that every output pixel sees at least one
// real input pixel.
func (p *problems) checkPad() {
	l := p.l
	pad := l.Pad
	if !p.ok("pad") {
		return
	}
	if pad.Same {
		if pad != (Padding{Same: true}) {
			p.addf("pad", `pad: "same" padding cannot also have explicit pads (%d,%d,%d,%d)`,
				pad.Top, pad.Left, pad.Bottom, pad.Right)
		}
		return
	}
	if pad.Top < 0 || pad.Left < 0 || pad.Bottom < 0 || pad.Right < 0 {
		p.addf("pad", "pad=%s: padding must not be negative", l.padString())
		return
	}
	if !p.ok("k", "dilation") {
		return // the spans are meaningless
	}
	for _, s := range []struct {
		side, axis string
		pad, span  int
	}{
		{"top", "height", pad.Top, l.SpanH()},
		{"left", "width", pad.Left, l.SpanW()},
		{"bottom", "height", pad.Bottom, l.SpanH()},
		{"right", "width", pad.Right, l.SpanW()},
	} {
		if s.pad >= s.span {
			p.addf("pad", "pad=%s: %s pad %d must be less than the kernel's %s span %d ((k-1)*dilation+1)",
				l.padString(), s.side, s.pad, s.axis, s.span)
			return
		}
	}
}

// checkNames applies the rules between layers: l's name must not repeat an
// earlier layer's name, and its Go type must not equal an earlier layer's
// type or constructor (New+type), nor its constructor an earlier type.
// Errors go to the later layer, keeping them in spec order.
func (p *problems) checkNames(i int, layers []Layer, firstName, firstType map[string]int) {
	l := p.l
	if !p.ok("name") {
		return // invalid names are reported already and have no sane type name
	}
	if j, dup := firstName[l.Name]; dup {
		p.addf("name", "name %q is used again (also %s)", l.Name, layers[j].ref(*l))
		return
	}
	firstName[l.Name] = i
	t := l.TypeName()
	other := func(j int) string { return layers[j].ref(*l) + " " + quoteShort(layers[j].Name) }
	if j, ok := firstType[t]; ok {
		p.addf("name", "Go type name %s is also the type of %s", t, other(j))
		return
	}
	if j, ok := firstType["New"+t]; ok {
		p.addf("name", "constructor New%s of Go type %s clashes with the Go type of %s", t, t, other(j))
		return
	}
	if rest, ok := strings.CutPrefix(t, "New"); ok {
		if j, ok := firstType[rest]; ok {
			p.addf("name", "Go type name %s clashes with the constructor of %s", t, other(j))
			return
		}
	}
	firstType[t] = i
}

// layerFields are the fields of a layer, in the order their problems are
// reported.
var layerFields = []string{"name", "cin", "cout", "k", "groups", "stride", "pad", "dilation", "bias", "act", "shuffle", "input", "layout"}

func isLayerField(key string) bool {
	for _, f := range layerFields {
		if f == key {
			return true
		}
	}
	return false
}

func isRequiredField(key string) bool {
	return key == "cin" || key == "cout" || key == "k"
}

func defaultLayer(source string, index int) Layer {
	return Layer{
		Source: source, Index: index,
		Groups:  1,
		StrideH: 1, StrideW: 1,
		DilationH: 1, DilationW: 1,
		Act: NewActivation(ActNone),
	}
}

// ParseSpec parses and validates a JSON spec. source names the file in
// errors. All problems are reported, one per line, in spec order.
func ParseSpec(source string, data []byte) (*Spec, error) {
	fail := func(msg string) (*Spec, error) { return nil, errors.New(prefix(source, msg)) }
	if len(bytes.TrimSpace(data)) == 0 {
		return fail("no layers")
	}
	// Check the syntax of the whole input first: this catches trailing data,
	// and the offset is then relative to the file, so line and column are right.
	var whole json.RawMessage
	if err := json.Unmarshal(data, &whole); err != nil {
		return fail(syntaxMessage(data, err))
	}
	fields, ok := objectFields(whole)
	if !ok {
		return fail("want a JSON object with \"layers\", got " + shortJSON(whole))
	}

	s := &Spec{Source: source}
	var top []error
	topErr := func(format string, args ...any) {
		top = append(top, errors.New(prefix(source, fmt.Sprintf(format, args...))))
	}
	var layersRaw json.RawMessage
	seen := map[string]bool{}
	for _, f := range fields {
		switch {
		case f.key != "package" && f.key != "layers" && f.key != "blocks":
			topErr("unknown field %q", f.key)
		case seen[f.key]:
			topErr("duplicate field %q", f.key)
		case f.key == "package":
			if name, ok := jsonString(f.value); ok {
				s.Package = name
			} else {
				topErr("package: want a string, got %s", shortJSON(f.value))
			}
		case f.key == "blocks":
			blocks, errs := parseBlocks(source, f.value)
			s.Blocks = blocks
			top = append(top, errs...)
		default:
			layersRaw = f.value
		}
		seen[f.key] = true
	}

	var items []json.RawMessage
	layersReported := false
	if layersRaw != nil {
		if layersRaw[0] != '[' || json.Unmarshal(layersRaw, &items) != nil {
			topErr("layers: want an array of layers, got %s", shortJSON(layersRaw))
			layersReported = true
		}
	}
	var parsed []*problems
	for i, raw := range items {
		l, p := parseJSONLayer(source, i+1, raw)
		s.Layers = append(s.Layers, l)
		parsed = append(parsed, p)
	}
	if errs := s.check(top, parsed, layersReported); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// syntaxMessage turns a JSON error into "invalid JSON at line L, column C: msg".
func syntaxMessage(data []byte, err error) string {
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return "invalid JSON: " + err.Error()
	}
	// Offset counts the bytes read, including the offending one; at the end
	// of the input there is no offending byte, so point just past the end.
	pos := int(se.Offset)
	if se.Error() != "unexpected end of JSON input" {
		pos--
	}
	pos = min(max(pos, 0), len(data))
	before := data[:pos]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, se.Error())
}

// field is one member of a JSON object, kept in input order.
type field struct {
	key   string
	value json.RawMessage
}

// objectFields splits a syntactically valid JSON object into its members,
// keeping their order (for error order) and duplicates (to report them).
// It reports false if raw is not an object.
func objectFields(raw json.RawMessage) ([]field, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		key, isKey := tok.(string)
		if err != nil || !isKey {
			return nil, false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		fields = append(fields, field{key, value})
	}
	return fields, true
}

// shortJSON shows a JSON value in an error, compacted and cut short.
func shortJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	s := string(raw)
	if json.Compact(&buf, raw) == nil {
		s = buf.String()
	}
	const limit = 40
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit-3]) + "..."
	}
	return s
}

// parseJSONLayer parses one element of "layers". Fields that fail to parse
// are reported and marked bad in the returned problems; validation comes later.
func parseJSONLayer(source string, index int, raw json.RawMessage) (Layer, *problems) {
	l := defaultLayer(source, index)
	p := newProblems(&l)
	fields, ok := objectFields(raw)
	if !ok {
		p.addf("", "want an object, got %s", shortJSON(raw))
		for _, f := range layerFields {
			p.bad[f] = true // nothing to validate
		}
		return l, p
	}

	values := map[string]json.RawMessage{}
	var unknown, dups []string
	for _, f := range fields {
		switch {
		case !isLayerField(f.key):
			unknown = append(unknown, f.key)
		case values[f.key] != nil:
			dups = append(dups, f.key)
		default:
			values[f.key] = f.value
		}
	}

	// The name goes first: every later message includes it.
	if v, ok := values["name"]; ok {
		if name, ok := jsonString(v); ok {
			l.Name = name
		} else {
			p.addf("name", "name: want a string, got %s", shortJSON(v))
		}
	}
	for _, key := range unknown {
		p.addf("", "unknown field %q", key)
	}
	for _, key := range dups {
		p.addf(key, "duplicate field %q", key)
	}

	for _, key := range layerFields[1:] {
		v, ok := values[key]
		if !ok {
			if isRequiredField(key) {
				p.addf(key, "%s is required", key)
			}
			continue
		}
		if p.bad[key] {
			continue // duplicate
		}
		var msg string
		switch key {
		case "cin":
			l.Cin, msg = jsonInt(v)
		case "cout":
			l.Cout, msg = jsonInt(v)
		case "groups":
			l.Groups, msg = jsonInt(v)
		case "k":
			l.KH, l.KW, msg = jsonIntPair(v, "[kh, kw]")
		case "stride":
			l.StrideH, l.StrideW, msg = jsonIntPair(v, "[h, w]")
		case "dilation":
			l.DilationH, l.DilationW, msg = jsonIntPair(v, "[h, w]")
		case "pad":
			l.Pad, msg = jsonPad(v)
		case "bias":
			switch string(v) {
			case "true":
				l.Bias = true
			case "false":
				l.Bias = false
			default:
				msg = "want true or false, got " + shortJSON(v)
			}
		case "act":
			l.Act, msg = jsonAct(v)
		case "input":
			l.InputH, l.InputW, msg = jsonIntPair(v, "[h, w]")
		case "shuffle":
			l.Shuffle, msg = jsonInt(v)
		case "layout":
			if str, ok := jsonString(v); ok {
				if l.NCHW, msg = parseLayout(str); msg != "" {
					msg = `want "nhwc" or "nchw", got ` + shortJSON(v)
				}
			} else {
				msg = `want "nhwc" or "nchw", got ` + shortJSON(v)
			}
		}
		if msg != "" {
			p.addf(key, "%s: %s", key, msg)
		}
	}
	return l, p
}

func jsonString(v json.RawMessage) (string, bool) {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func isJSONNumber(v json.RawMessage) bool {
	return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9')
}

// jsonInt parses an integer written without fraction or exponent; it returns
// a message (without the field name) if v is anything else.
func jsonInt(v json.RawMessage) (int, string) {
	if !isJSONNumber(v) {
		return 0, "want an integer, got " + shortJSON(v)
	}
	n, err := strconv.ParseInt(string(v), 10, 0)
	if errors.Is(err, strconv.ErrRange) {
		return 0, string(v) + " is out of range"
	}
	if err != nil {
		return 0, "want an integer, got " + string(v)
	}
	return int(n), ""
}

// jsonInts parses an array of exactly n integers.
func jsonInts(v json.RawMessage, n int) ([]int, bool) {
	var items []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &items) != nil || len(items) != n {
		return nil, false
	}
	ints := make([]int, n)
	for i, item := range items {
		x, msg := jsonInt(item)
		if msg != "" {
			return nil, false
		}
		ints[i] = x
	}
	return ints, true
}

// jsonIntPair parses an int (both halves equal) or a [h, w] pair.
func jsonIntPair(v json.RawMessage, pairForm string) (h, w int, msg string) {
	if isJSONNumber(v) {
		// Keep an "out of range" message; otherwise list the allowed forms.
		n, msg := jsonInt(v)
		if strings.HasPrefix(msg, "want") {
			msg = "want an int or " + pairForm + ", got " + shortJSON(v)
		}
		return n, n, msg
	}
	if hw, ok := jsonInts(v, 2); ok {
		return hw[0], hw[1], ""
	}
	return 0, 0, "want an int or " + pairForm + ", got " + shortJSON(v)
}

func uniformPad(n int) Padding {
	return Padding{Top: n, Left: n, Bottom: n, Right: n}
}

func jsonPad(v json.RawMessage) (Padding, string) {
	const want = `want an int, [ph, pw], [top, left, bottom, right], "same" or "valid", got `
	if s, ok := jsonString(v); ok {
		switch s {
		case "same":
			return Padding{Same: true}, ""
		case "valid":
			return Padding{}, ""
		}
		return Padding{}, want + shortJSON(v)
	}
	if isJSONNumber(v) {
		n, msg := jsonInt(v)
		if strings.HasPrefix(msg, "want") {
			msg = want + shortJSON(v)
		}
		return uniformPad(n), msg
	}
	if p, ok := jsonInts(v, 2); ok {
		return Padding{Top: p[0], Left: p[1], Bottom: p[0], Right: p[1]}, ""
	}
	if p, ok := jsonInts(v, 4); ok {
		return Padding{Top: p[0], Left: p[1], Bottom: p[2], Right: p[3]}, ""
	}
	return Padding{}, want + shortJSON(v)
}

func jsonAct(v json.RawMessage) (Activation, string) {
	const want = `want "none", "relu", "relu6" or {"min": a, "max": b}, got `
	if s, ok := jsonString(v); ok {
		if kind, ok := namedAct(s); ok {
			return NewActivation(kind), ""
		}
		return Activation{}, want + shortJSON(v)
	}
	fields, ok := objectFields(v)
	if !ok {
		return Activation{}, want + shortJSON(v)
	}
	a := NewClamp(float32(math.Inf(-1)), float32(math.Inf(1)))
	seen := map[string]bool{}
	for _, f := range fields {
		if f.key != "min" && f.key != "max" {
			return Activation{}, fmt.Sprintf(`unknown field %q (want "min" and/or "max")`, f.key)
		}
		if seen[f.key] {
			return Activation{}, fmt.Sprintf("duplicate field %q", f.key)
		}
		seen[f.key] = true
		if !isJSONNumber(f.value) {
			return Activation{}, fmt.Sprintf("%s: want a number, got %s", f.key, shortJSON(f.value))
		}
		x, msg := clampBound(f.key, string(f.value))
		if msg != "" {
			return Activation{}, msg
		}
		if f.key == "min" {
			a.Min = x
		} else {
			a.Max = x
		}
	}
	return a, ""
}

func namedAct(s string) (ActKind, bool) {
	switch s {
	case "none":
		return ActNone, true
	case "relu":
		return ActReLU, true
	case "relu6":
		return ActReLU6, true
	}
	return 0, false
}

// clampBound parses one side of a clamp, which must be a finite float32.
func clampBound(side, s string) (float32, string) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Sprintf("%s: want a number, got %q", side, s)
	}
	if math.IsNaN(x) || math.IsInf(float64(float32(x)), 0) {
		return 0, fmt.Sprintf("%s=%s: must be a finite float32 number", side, s)
	}
	return float32(x), ""
}

// ParseInlineLayer parses the CLI's -layer form,
//
//	name:cin=32,cout=32,k=3,groups=32,stride=2,pad=1,dilation=1,bias=true,act=relu6
//
// and validates the layer on its own. index is the flag's 1-based position
// among the -layer flags.
func ParseInlineLayer(arg string, index int) (Layer, error) {
	l := defaultLayer(inlineSource, index)
	p := newProblems(&l)
	name, rest, found := strings.Cut(arg, ":")
	if !found {
		p.addf("", `missing ":" after the layer name (want name:cin=N,cout=N,k=N,...)`)
		return Layer{}, errors.Join(p.errs...)
	}
	l.Name = name

	seen := map[string]bool{}
	if rest != "" {
		for _, item := range strings.Split(rest, ",") {
			key, value, hasValue := strings.Cut(item, "=")
			switch {
			case item == "":
				p.addf("", "empty item in the key=value list (stray comma?)")
			case !hasValue:
				p.addf("", "%q: want key=value", item)
			case key == "name" || !isLayerField(key):
				p.addf("", "unknown key %q", key)
			case seen[key]:
				p.addf(key, "key %q is given twice", key)
			default:
				seen[key] = true
				if msg := p.inlineValue(key, value); msg != "" {
					p.addf(key, "%s: %s", key, msg)
				}
			}
		}
	}
	for _, key := range layerFields {
		if isRequiredField(key) && !seen[key] {
			p.addf(key, "%s is required", key)
		}
	}

	p.checkLayer()
	if len(p.errs) > 0 {
		return Layer{}, errors.Join(p.errs...)
	}
	return l, nil
}

// inlineValue stores the value of one key=value item in p.l, or returns what
// is wrong with it.
func (p *problems) inlineValue(key, value string) string {
	l := p.l
	var msg string
	switch key {
	case "cin":
		l.Cin, msg = inlineInt(value)
	case "cout":
		l.Cout, msg = inlineInt(value)
	case "groups":
		l.Groups, msg = inlineInt(value)
	case "k":
		l.KH, l.KW, msg = inlineIntPair(value, "KHxKW")
	case "stride":
		l.StrideH, l.StrideW, msg = inlineIntPair(value, "HxW")
	case "dilation":
		l.DilationH, l.DilationW, msg = inlineIntPair(value, "HxW")
	case "pad":
		l.Pad, msg = inlinePad(value)
	case "bias":
		switch value {
		case "true":
			l.Bias = true
		case "false":
			l.Bias = false
		default:
			msg = fmt.Sprintf("want true or false, got %q", value)
		}
	case "act":
		l.Act, msg = inlineAct(value)
	case "input":
		l.InputH, l.InputW, msg = inlineIntPair(value, "HxW")
	case "shuffle":
		l.Shuffle, msg = inlineInt(value)
	case "layout":
		l.NCHW, msg = parseLayout(value)
	}
	return msg
}

// parseLayout reads a layout name: "nhwc" (the default) or "nchw".
func parseLayout(s string) (nchw bool, msg string) {
	switch s {
	case "nhwc":
		return false, ""
	case "nchw":
		return true, ""
	}
	return false, fmt.Sprintf(`want "nhwc" or "nchw", got %q`, s)
}

func inlineInt(s string) (int, string) {
	n, err := strconv.Atoi(s)
	if errors.Is(err, strconv.ErrRange) {
		return 0, s + " is out of range"
	}
	if err != nil {
		return 0, fmt.Sprintf("want an integer, got %q", s)
	}
	return n, ""
}

// inlineInts parses n integers separated by "x".
func inlineInts(s string, n int) ([]int, bool) {
	parts := strings.Split(s, "x")
	if len(parts) != n {
		return nil, false
	}
	ints := make([]int, n)
	for i, part := range parts {
		x, err := strconv.Atoi(part)
		if err != nil {
			return nil, false
		}
		ints[i] = x
	}
	return ints, true
}

func inlineIntPair(s, pairForm string) (h, w int, msg string) {
	if n, ok := inlineInts(s, 1); ok {
		return n[0], n[0], ""
	}
	if hw, ok := inlineInts(s, 2); ok {
		return hw[0], hw[1], ""
	}
	return 0, 0, fmt.Sprintf("want an int or %s, got %q", pairForm, s)
}

func inlinePad(s string) (Padding, string) {
	switch s {
	case "same":
		return Padding{Same: true}, ""
	case "valid":
		return Padding{}, ""
	}
	if n, ok := inlineInts(s, 1); ok {
		return uniformPad(n[0]), ""
	}
	if p, ok := inlineInts(s, 2); ok {
		return Padding{Top: p[0], Left: p[1], Bottom: p[0], Right: p[1]}, ""
	}
	if p, ok := inlineInts(s, 4); ok {
		return Padding{Top: p[0], Left: p[1], Bottom: p[2], Right: p[3]}, ""
	}
	return Padding{}, fmt.Sprintf("want an int, PHxPW, TOPxLEFTxBOTTOMxRIGHT, same or valid, got %q", s)
}

// inlineAct parses none, relu, relu6 or a clamp min:max with either side
// possibly empty (unbounded).
func inlineAct(s string) (Activation, string) {
	if kind, ok := namedAct(s); ok {
		return NewActivation(kind), ""
	}
	lo, hi, ok := strings.Cut(s, ":")
	if !ok {
		return Activation{}, fmt.Sprintf("want none, relu, relu6 or min:max (e.g. -1:1 or 0:), got %q", s)
	}
	a := NewClamp(float32(math.Inf(-1)), float32(math.Inf(1)))
	var msg string
	if lo != "" {
		if a.Min, msg = clampBound("min", lo); msg != "" {
			return Activation{}, msg
		}
	}
	if hi != "" {
		if a.Max, msg = clampBound("max", hi); msg != "" {
			return Activation{}, msg
		}
	}
	return a, ""
}
