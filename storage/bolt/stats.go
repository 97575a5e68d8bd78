package bolt

import (
	"cmp"
	"context"
	"slices"

	bbolt "go.etcd.io/bbolt"
)

// BucketStats is what one bucket of the data file holds: its keys, their
// key and value bytes, and the pages its B+tree occupies.
type BucketStats struct {
	Name string
	Keys int
	// KeyBytes and ValueBytes sum the stored keys and values.
	KeyBytes, ValueBytes int64
	// LeafPages and BranchPages count the pages of the bucket's tree
	// (overflow pages included); LeafInuse is how many bytes of its leaf
	// pages are used (headers, element headers, keys and values).
	LeafPages, BranchPages int
	LeafInuse              int64
	// Bytes is the space its pages take in the file.
	Bytes int64
}

// FileStats is the data file's space by bucket.
type FileStats struct {
	PageSize int
	// FileBytes is the file's size; FreePages the pages on its freelist.
	FileBytes int64
	FreePages int
	Buckets   []BucketStats
}

// Stats reads the space each bucket takes, from one read transaction. It
// walks every key, so it takes seconds on a large file; writers go on
// meanwhile.
func (s *Store) Stats() (FileStats, error) {
	var fs FileStats
	if err := s.usable(context.Background()); err != nil {
		return fs, err
	}
	err := s.db.View(func(tx *bbolt.Tx) error {
		fs.PageSize = s.db.Info().PageSize
		fs.FileBytes = tx.Size()
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			st := b.Stats()
			bs := BucketStats{Name: string(name), Keys: st.KeyN, LeafPages: st.LeafPageN + st.LeafOverflowN,
				BranchPages: st.BranchPageN + st.BranchOverflowN, LeafInuse: int64(st.LeafInuse),
				Bytes: int64(st.LeafAlloc + st.BranchAlloc)}
			err := b.ForEach(func(k, v []byte) error {
				bs.KeyBytes += int64(len(k))
				bs.ValueBytes += int64(len(v))
				return nil
			})
			fs.Buckets = append(fs.Buckets, bs)
			return err
		})
	})
	fs.FreePages = s.db.Stats().FreePageN
	slices.SortFunc(fs.Buckets, func(a, b BucketStats) int { return cmp.Compare(b.Bytes, a.Bytes) })
	return fs, err
}
