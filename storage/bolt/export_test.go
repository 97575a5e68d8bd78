package bolt

import "time"

// WithCacheCheckEvery sets how often the cache budget is checked.
func WithCacheCheckEvery(d time.Duration) Option { return func(o *options) { o.cacheEvery = d } }
