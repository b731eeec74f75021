package jgitmerge

import "bytes"

// BigFileThreshold is the size above which JGit takes a blob for binary
// without reading it (PackConfig.DEFAULT_BIG_FILE_THRESHOLD, 50 MiB).
const BigFileThreshold = 50 << 20

// IsBinary reports whether JGit (6.0 and later, RawText.load) refuses to
// merge content line by line: a NUL byte anywhere, or a carriage return
// not followed by a line feed, including one at the very end. Sizes above
// BigFileThreshold are the caller's to check, before reading the blob.
func IsBinary(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return true
	}
	for i := bytes.IndexByte(data, '\r'); i >= 0; {
		if i+1 == len(data) || data[i+1] != '\n' {
			return true
		}
		next := bytes.IndexByte(data[i+1:], '\r')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}
