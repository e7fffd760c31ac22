package peers

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// listRows makes the test binary print the benchmark rows and exit: make
// bench builds it once and runs BenchmarkOneDNNAVX2 one row per process
// (peers/onednn-avx2-rows), so that a crash costs at most that row.
var listRows = flag.Bool("rows", false, "print the rows of "+specPath+", one name a line, and exit")

func TestMain(m *testing.M) {
	flag.Parse()
	if *listRows {
		rs, err := LoadRows(specPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, r := range rs {
			fmt.Println(r.Name)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
