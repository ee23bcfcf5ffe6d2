// Package benchmsg holds the messages every benchmark of longlink carries, so
// that longlink and the systems it is compared with move the same bytes.
package benchmsg

import "strings"

// Message is shaped like the BenchmarkMessage of the rpcx benchmarks
// (rpcxio/rpcx-benchmark): a flat struct of strings, integers and flags.
// Filled by New, it encodes to about 1 KiB of MessagePack.
type Message struct {
	Field1   string   `msgpack:"1"`
	Field9   string   `msgpack:"9"`
	Field18  string   `msgpack:"18"`
	Field80  bool     `msgpack:"80"`
	Field81  bool     `msgpack:"81"`
	Field2   int32    `msgpack:"2"`
	Field3   int32    `msgpack:"3"`
	Field280 int32    `msgpack:"280"`
	Field6   int32    `msgpack:"6"`
	Field22  int64    `msgpack:"22"`
	Field4   string   `msgpack:"4"`
	Field5   []uint64 `msgpack:"5"`
	Field59  bool     `msgpack:"59"`
	Field7   string   `msgpack:"7"`
	Field16  int32    `msgpack:"16"`
	Field130 int32    `msgpack:"130"`
	Field12  bool     `msgpack:"12"`
	Field17  bool     `msgpack:"17"`
	Field13  bool     `msgpack:"13"`
	Field14  bool     `msgpack:"14"`
	Field104 int32    `msgpack:"104"`
	Field100 int32    `msgpack:"100"`
	Field101 int32    `msgpack:"101"`
	Field102 string   `msgpack:"102"`
	Field103 string   `msgpack:"103"`
	Field29  int32    `msgpack:"29"`
	Field30  bool     `msgpack:"30"`
	Field60  int32    `msgpack:"60"`
	Field271 int32    `msgpack:"271"`
	Field272 int32    `msgpack:"272"`
	Field150 int32    `msgpack:"150"`
	Field23  int32    `msgpack:"23"`
	Field24  bool     `msgpack:"24"`
	Field25  int32    `msgpack:"25"`
	Field78  bool     `msgpack:"78"`
	Field67  int32    `msgpack:"67"`
	Field68  int32    `msgpack:"68"`
	Field128 int32    `msgpack:"128"`
	Field129 string   `msgpack:"129"`
	Field131 int32    `msgpack:"131"`
}

// New returns a Message filled the way the rpcx benchmark fills its own,
// with strings long enough that the whole encodes to about 1 KiB.
func New() *Message {
	s := strings.Repeat("x", 85)
	return &Message{
		Field1: "hello longlink " + s, Field9: s, Field18: s, Field80: false, Field81: true,
		Field2: 100, Field3: 200, Field280: 300, Field6: 400, Field22: 1 << 40,
		Field4: s, Field5: []uint64{1, 2, 3, 4, 5, 6, 7, 8}, Field59: true, Field7: s,
		Field16: 100, Field130: 200, Field12: true, Field17: false, Field13: true, Field14: false,
		Field104: 100, Field100: 200, Field101: 300, Field102: s, Field103: s,
		Field29: 100, Field30: true, Field60: 200, Field271: 300, Field272: 400,
		Field150: 500, Field23: 600, Field24: true, Field25: 700, Field78: true,
		Field67: 800, Field68: 900, Field128: 1000, Field129: s, Field131: 1100,
	}
}

// Tiny is the small message: one short string.
type Tiny struct {
	S string `msgpack:"s"`
}
