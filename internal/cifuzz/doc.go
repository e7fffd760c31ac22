// Package cifuzz holds the test that keeps CI's fuzz set (.ci/fuzz-targets,
// run by make fuzz-ci) covering every kernel class of the preset packages
// under generated/. It has no code of its own.
package cifuzz
