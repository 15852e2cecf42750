package gitstore

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"crypto/sha1"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// errNotFound is wrapped by errors for objects, refs and paths that do not
// exist: run.ErrNotFound, the one error every store returns for that.
var errNotFound = run.ErrNotFound

// errNoPath is wrapped by ReadPath's error when the commit exists but has
// no file at the path: not found too, but not a missing commit.
var errNoPath = fmt.Errorf("no such file: %w", errNotFound)

// TreeEntry is one entry of a tree object.
type TreeEntry struct {
	Name string
	Mode filemode.FileMode
	Hash plumbing.Hash
}

// CommitSpec is the content of a commit object to write.
type CommitSpec struct {
	Tree      plumbing.Hash
	Parents   []plumbing.Hash
	Author    object.Signature
	Committer object.Signature
	Message   string
}

// writeAttempts bounds retries of a loose-object write that fails because
// a concurrent git prune removed the directory we had just made.
const writeAttempts = 5

// WriteBlob stores data as a blob.
func (r *Repo) WriteBlob(data []byte) (plumbing.Hash, error) {
	return r.writeBlobOn(data, runtime.GOMAXPROCS(0))
}

// writeBlobOn is WriteBlob compressing on at most cores cores.
func (r *Repo) writeBlobOn(data []byte, cores int) (plumbing.Hash, error) {
	h, err := r.writeObjectOn(plumbing.BlobObject, data, cores)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write blob: %w", err)
	}
	return h, nil
}

// WriteBlobFile stores the content of the file at path as a blob, reading it
// once and never holding it in memory whole.
func (r *Repo) WriteBlobFile(path string) (plumbing.Hash, error) {
	h, err := r.writeFileObject(path)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write blob %s: %w", path, err)
	}
	return h, nil
}

// WriteTree stores a tree with the given entries, in any order. It refuses
// names that git fsck would reject: empty, containing "/" or NUL, ".",
// "..", ".git" in any case, and duplicates.
func (r *Repo) WriteTree(entries []TreeEntry) (plumbing.Hash, error) {
	sorted := slices.Clone(entries)
	seen := make(map[string]bool, len(sorted))
	for _, e := range sorted {
		if err := checkTreeEntry(e); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("write tree: %w", err)
		}
		if seen[e.Name] {
			return plumbing.ZeroHash, fmt.Errorf("write tree: duplicate entry %q", e.Name)
		}
		seen[e.Name] = true
	}
	// git orders entries by name, comparing a directory as if its name
	// ended in "/".
	slices.SortFunc(sorted, func(a, b TreeEntry) int {
		return strings.Compare(treeSortKey(a), treeSortKey(b))
	})
	size := 0
	for _, e := range sorted {
		size += 7 + len(e.Name) + 1 + len(e.Hash)
	}
	buf := make([]byte, 0, size)
	for _, e := range sorted {
		buf = strconv.AppendUint(buf, uint64(e.Mode), 8)
		buf = append(buf, ' ')
		buf = append(buf, e.Name...)
		buf = append(buf, 0)
		buf = append(buf, e.Hash[:]...)
	}
	h, err := r.writeObject(plumbing.TreeObject, buf)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write tree: %w", err)
	}
	return h, nil
}

func treeSortKey(e TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

func checkTreeEntry(e TreeEntry) error {
	switch {
	case e.Name == "" || e.Name == "." || e.Name == "..":
		return fmt.Errorf("invalid entry name %q", e.Name)
	case strings.ContainsAny(e.Name, "/\x00"):
		return fmt.Errorf("invalid entry name %q", e.Name)
	case strings.EqualFold(e.Name, ".git"):
		return fmt.Errorf("invalid entry name %q", e.Name)
	}
	switch e.Mode {
	case filemode.Dir, filemode.Regular, filemode.Executable, filemode.Symlink, filemode.Submodule:
	default:
		return fmt.Errorf("entry %q has invalid mode %o", e.Name, uint32(e.Mode))
	}
	if e.Hash.IsZero() {
		return fmt.Errorf("entry %q has a zero hash", e.Name)
	}
	return nil
}

// WriteCommit stores a commit. Signatures must have a time after 1970 and
// no '<', '>' or newline in names and emails, which git would reject.
func (r *Repo) WriteCommit(c CommitSpec) (plumbing.Hash, error) {
	if c.Tree.IsZero() {
		return plumbing.ZeroHash, errors.New("write commit: zero tree hash")
	}
	buf := make([]byte, 0, 256+len(c.Message))
	buf = append(buf, "tree "...)
	buf = append(buf, c.Tree.String()...)
	buf = append(buf, '\n')
	for _, p := range c.Parents {
		if p.IsZero() {
			return plumbing.ZeroHash, errors.New("write commit: zero parent hash")
		}
		buf = append(buf, "parent "...)
		buf = append(buf, p.String()...)
		buf = append(buf, '\n')
	}
	var err error
	if buf, err = appendSignature(buf, "author", c.Author); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write commit: %w", err)
	}
	if buf, err = appendSignature(buf, "committer", c.Committer); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write commit: %w", err)
	}
	buf = append(buf, '\n')
	buf = append(buf, c.Message...)
	h, err := r.writeObject(plumbing.CommitObject, buf)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write commit: %w", err)
	}
	return h, nil
}

func appendSignature(buf []byte, field string, s object.Signature) ([]byte, error) {
	if strings.ContainsAny(s.Name, "<>\n") {
		return nil, fmt.Errorf("%s name %q contains '<', '>' or a newline", field, s.Name)
	}
	if strings.ContainsAny(s.Email, "<>\n") {
		return nil, fmt.Errorf("%s email %q contains '<', '>' or a newline", field, s.Email)
	}
	if s.When.Unix() < 0 {
		return nil, fmt.Errorf("%s time %s is before 1970", field, s.When)
	}
	buf = append(buf, field...)
	buf = append(buf, ' ')
	buf = append(buf, s.Name...)
	buf = append(buf, " <"...)
	buf = append(buf, s.Email...)
	buf = append(buf, "> "...)
	buf = strconv.AppendInt(buf, s.When.Unix(), 10)
	buf = append(buf, ' ')
	buf = s.When.AppendFormat(buf, "-0700")
	return append(buf, '\n'), nil
}

// writeObject writes a loose object unless it exists already as a loose
// object. Objects are written here rather than through go-git's storage,
// whose writer leaves its temporary file behind when the final rename fails
// (which a concurrent git prune makes happen), stores a corrupt object when
// streamed content turns out shorter than announced, and compresses at
// zlib's default level where git uses level 1 for loose objects
// (core.looseCompression), which costs a quarter of the write time.
func (r *Repo) writeObject(t plumbing.ObjectType, data []byte) (plumbing.Hash, error) {
	return r.writeObjectOn(t, data, runtime.GOMAXPROCS(0))
}

// writeObjectOn is writeObject compressing a big object on at most cores
// cores: a checkpoint, written while the program trains, takes one.
func (r *Repo) writeObjectOn(t plumbing.ObjectType, data []byte, cores int) (plumbing.Hash, error) {
	h := hashObject(t, data)
	final := r.objectPath(h)
	if freshen(final) {
		return h, nil
	}
	var parts [][]byte
	if len(data) >= bigObject {
		parts = r.compressBig(objectHeader(t, int64(len(data))), data, cores)
	} else {
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufPool.Put(buf)
		zw := getZlib(buf)
		_, err := zw.Write(objectHeader(t, int64(len(data))))
		if err == nil {
			_, err = zw.Write(data)
		}
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		zlibPool.Put(zw)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		parts = [][]byte{buf.Bytes()}
	}
	var err error
	for range writeAttempts {
		// `git prune --expire=now` deletes temporary files too, even
		// ours while we write it: start again then.
		if err = r.writeTemp(final, parts); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return h, nil
}

// hashObject computes the id git gives an object of type t holding data.
//
// It uses crypto/sha1, not the collision-detecting SHA-1 go-git uses by
// default: with the CPU's SHA instructions it is twice as fast (5 ms
// instead of 12 ms for a 10 MiB output log, hashed while the user waits
// for the run to end), and collision detection guards against objects
// crafted by others, which these, written from the run's own data, are not.
func hashObject(t plumbing.ObjectType, data []byte) plumbing.Hash {
	hs := newObjectHasher(t, int64(len(data)))
	hs.Write(data)
	var h plumbing.Hash
	hs.Sum(h[:0])
	return h
}

// newObjectHasher returns a SHA-1 that has taken the header of an object
// of type t and size bytes: write its content, then Sum.
func newObjectHasher(t plumbing.ObjectType, size int64) hash.Hash {
	hs := sha1.New()
	hs.Write(objectHeader(t, size))
	return hs
}

// objectHeader is what precedes an object's content, compressed with it,
// in a loose object: "<type> <size>\x00".
func objectHeader(t plumbing.ObjectType, size int64) []byte {
	b := make([]byte, 0, 32)
	b = append(b, t.Bytes()...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, size, 10)
	return append(b, 0)
}

var zlibPool sync.Pool

// bigObject is the size from which objects are compressed with Huffman
// coding only: several times faster than level 1 on the megabytes of an
// output log or a metric history, which a run writes at its end while the
// user waits, and still about half the size. git gc recompresses them.
const bigObject = 1 << 20

// getZlib returns a writer compressing to w at git's loose-object level.
func getZlib(w io.Writer) *zlib.Writer {
	if zw, ok := zlibPool.Get().(*zlib.Writer); ok {
		zw.Reset(w)
		return zw
	}
	zw, _ := zlib.NewWriterLevel(w, zlib.BestSpeed)
	return zw
}

// writeTemp writes the compressed object made of parts to a temporary
// file and moves it to final.
func (r *Repo) writeTemp(final string, parts [][]byte) error {
	f, err := r.createTemp()
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.moveIntoPlace(f.Name(), final)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// compressBig returns the zlib stream of header followed by data, in
// parts, with Huffman coding only, compressed on every core: Huffman-only
// deflate has no back references, so pieces compressed apart, each but
// the last ended with a flush to a byte boundary, join into one valid
// stream. A run's output log and history are compressed this way while
// the user waits for the run to end (10 MiB: 28 ms on one core). When
// the start of data was prepared (see Prepare), its pieces are reused.
func (r *Repo) compressBig(header, data []byte, cores int) [][]byte {
	sum := make(chan []byte, 1)
	adler := func() {
		a := adler32.New()
		a.Write(header)
		a.Write(data)
		sum <- a.Sum(nil)
	}
	if cores > 1 {
		go adler()
	} else {
		adler()
	}
	// The zlib header says: deflate, 32 KiB window, fastest level, and
	// its check bits make it a multiple of 31.
	parts := [][]byte{{0x78, 0x01}}
	parts = append(parts, deflatePieces(header, 1, false)...)
	rest := data
	if pre := r.prepared(data); pre != nil {
		parts = append(parts, pre.pieces...)
		rest = data[len(pre.raw):]
	}
	parts = append(parts, deflatePieces(rest, cores, true)...)
	return append(parts, <-sum) // Adler-32 ends the stream
}

// deflatePieces compresses data with Huffman coding only, in up to n
// pieces of at least 1 MiB compressed at once, each ended with a flush to
// a byte boundary, the last one instead ending the stream when final.
func deflatePieces(data []byte, n int, final bool) [][]byte {
	const minPiece = 1 << 20
	n = max(1, min(n, len(data)/minPiece))
	pieces := make([][]byte, n)
	size := (len(data) + n - 1) / n
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b bytes.Buffer
			b.Grow(size*5/8 + 64) // text takes about half its size
			fw, _ := flate.NewWriter(&b, flate.HuffmanOnly)
			fw.Write(data[min(len(data), i*size):min(len(data), (i+1)*size)]) // writes to a bytes.Buffer cannot fail
			if final && i == n-1 {
				fw.Close()
			} else {
				fw.Flush()
			}
			pieces[i] = b.Bytes()
		}()
	}
	wg.Wait()
	return pieces
}

// preparedData is data compressed ahead of time by Prepare.
type preparedData struct {
	raw    []byte
	pieces [][]byte // deflate pieces of raw, flushed, none final
}

// Prepare compresses data in the background, to be reused when a large
// object that starts with data is written: the head of a run's output
// log, ready long before the run ends. It keeps one such data at a time.
func (r *Repo) Prepare(data []byte) {
	if len(data) < bigObject {
		return
	}
	go func() {
		p := &preparedData{raw: data, pieces: deflatePieces(data, 1, false)}
		r.preMu.Lock()
		r.pre = p
		r.preMu.Unlock()
	}()
}

// prepared returns what Prepare made of the start of data, or nil.
func (r *Repo) prepared(data []byte) *preparedData {
	r.preMu.Lock()
	p := r.pre
	r.preMu.Unlock()
	if p == nil || len(p.raw) > len(data) || !bytes.Equal(p.raw, data[:len(p.raw)]) {
		return nil
	}
	return p
}

// bufPool recycles compression buffers: a run writes several objects.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (r *Repo) objectPath(h plumbing.Hash) string {
	hex := h.String()
	return filepath.Join(r.CommonDir, "objects", hex[:2], hex[2:])
}

// freshen reports whether the loose object at path exists, updating its
// time as git does: an old unreachable object that we are about to
// reference must not be pruned by a gc that is already running.
func freshen(path string) bool {
	now := time.Now()
	return os.Chtimes(path, now, now) == nil
}

// objectTempDir is where objects are written before being renamed into their
// fan-out directory. One directory for all temporary files is markedly
// cheaper than 256 on the file systems measured, and git prune removes
// stale tmp_* files from it.
const objectTempDir = "pack"

// createTemp creates a temporary object file, read-only like every loose
// object (the descriptor we get is still writable).
func (r *Repo) createTemp() (*os.File, error) {
	dir := filepath.Join(r.CommonDir, "objects", objectTempDir)
	for attempt := 0; ; attempt++ {
		name := filepath.Join(dir, fmt.Sprintf("tmp_obj_%016x", rand.Uint64()))
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, fs.ErrNotExist) && attempt < writeAttempts:
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return nil, err
			}
		case errors.Is(err, fs.ErrExist) && attempt < writeAttempts:
		default:
			return nil, err
		}
	}
}

// moveIntoPlace renames a finished temporary object to its final name. A
// concurrent git prune removes empty fan-out directories, possibly between
// our mkdir and our rename, hence the retries. An object that came into
// being meanwhile is replaced by its identical copy, as git would.
func (r *Repo) moveIntoPlace(tmp, final string) error {
	var err error
	for range writeAttempts {
		// syscall.Rename: os.Rename would stat the target first, to
		// refuse a directory, which an object name never is.
		if err = syscall.Rename(tmp, final); !errors.Is(err, syscall.ENOENT) {
			if err != nil {
				return &os.LinkError{Op: "rename", Old: tmp, New: final, Err: err}
			}
			return nil
		}
		if err = os.MkdirAll(filepath.Dir(final), 0o777); err != nil {
			return err
		}
	}
	return &os.LinkError{Op: "rename", Old: tmp, New: final, Err: err}
}

func (r *Repo) writeFileObject(path string) (plumbing.Hash, error) {
	var err error
	for range writeAttempts {
		var h plumbing.Hash
		if h, err = r.writeFileObjectOnce(path); !errors.Is(err, fs.ErrNotExist) {
			return h, err
		}
		if _, serr := os.Stat(path); serr != nil {
			// The source itself is missing: no point retrying.
			return plumbing.ZeroHash, err
		}
	}
	return plumbing.ZeroHash, err
}

func (r *Repo) writeFileObjectOnce(path string) (plumbing.Hash, error) {
	src, err := os.Open(path)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !fi.Mode().IsRegular() {
		return plumbing.ZeroHash, errors.New("not a regular file")
	}
	size := fi.Size()

	f, err := r.createTemp()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tmp := f.Name()
	bw := bufio.NewWriterSize(f, 64<<10)
	zw := getZlib(bw)
	hasher := newObjectHasher(plumbing.BlobObject, size)
	_, err = zw.Write(objectHeader(plumbing.BlobObject, size))
	if err == nil {
		var n int64
		n, err = io.Copy(io.MultiWriter(zw, hasher), io.LimitReader(src, size))
		var probe [1]byte
		if extra, _ := src.Read(probe[:]); err == nil && (n != size || extra > 0) {
			// A short or long object would be stored under a hash that
			// git fsck rejects.
			err = errors.New("file changed while it was read")
		}
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	zlibPool.Put(zw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var h plumbing.Hash
	hasher.Sum(h[:0])
	if err == nil {
		err = r.moveIntoPlace(tmp, r.objectPath(h))
	}
	if err != nil {
		os.Remove(tmp)
		return plumbing.ZeroHash, err
	}
	return h, nil
}

// HasObject reports whether the object exists, loose or packed.
func (r *Repo) HasObject(h plumbing.Hash) bool {
	if _, err := os.Lstat(r.objectPath(h)); err == nil {
		return true
	}
	return r.withStorage(func(st *filesystem.Storage) error {
		return st.HasEncodedObject(h)
	}) == nil
}

// ReadCommit reads and decodes a commit. Its Tree, Parents and similar
// methods may be used from any goroutine.
func (r *Repo) ReadCommit(h plumbing.Hash) (*object.Commit, error) {
	s := objectStore{r}
	o, err := s.EncodedObject(plumbing.CommitObject, h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", h, notFound(err))
	}
	c, err := object.DecodeCommit(s, o)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", h, err)
	}
	return c, nil
}

// ReadBlob reads a blob's content.
func (r *Repo) ReadBlob(h plumbing.Hash) ([]byte, error) {
	b, err := r.readBlob(h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return b, nil
}

func (r *Repo) readBlob(h plumbing.Hash) ([]byte, error) {
	return r.readBlobMax(h, -1)
}

// readBlobMax reads a blob of at most max bytes (any size when max < 0),
// refusing a bigger one by its size alone, before reading any of it: blobs
// of fetched runs may be made to exhaust memory.
func (r *Repo) readBlobMax(h plumbing.Hash, max int64) ([]byte, error) {
	if r.bigPacks() {
		t, size, data, err := r.catObject(h, max)
		switch {
		case errors.Is(err, plumbing.ErrObjectNotFound):
			return nil, notFound(err)
		case err != nil:
			// go-git reads it below.
		case t != plumbing.BlobObject:
			return nil, notFound(plumbing.ErrObjectNotFound)
		case data == nil && size > 0:
			return nil, fmt.Errorf("%d bytes, more than %d", size, max)
		default:
			return data, nil
		}
	}
	var data []byte
	err := r.withStorage(func(st *filesystem.Storage) error {
		if max >= 0 {
			// The size is in the object's header, loose or packed, so
			// this reads a few bytes where EncodedObject may read all.
			n, err := r.objectSize(st, h)
			if err != nil {
				return err
			}
			if n > max {
				return fmt.Errorf("%d bytes, more than %d", n, max)
			}
		}
		o, err := st.EncodedObject(plumbing.BlobObject, h)
		if err != nil {
			return err
		}
		if max >= 0 && o.Size() > max {
			return fmt.Errorf("%d bytes, more than %d", o.Size(), max)
		}
		rd, err := o.Reader()
		if err != nil {
			return err
		}
		defer rd.Close()
		data = make([]byte, o.Size())
		_, err = io.ReadFull(rd, data)
		return err
	})
	return data, notFound(err)
}

// zlibReaders recycles the decompressors of objectSize.
var zlibReaders sync.Pool

// objectSize returns the size of object h from its header. It reads loose
// objects itself: go-git's EncodedObjectSize leaves their files open, one
// descriptor per call, which a listing of thousands of runs runs out of.
func (r *Repo) objectSize(st *filesystem.Storage, h plumbing.Hash) (int64, error) {
	f, err := os.Open(r.objectPath(h))
	if errors.Is(err, fs.ErrNotExist) {
		return st.EncodedObjectSize(h)
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64)
	var zr io.ReadCloser
	if z, ok := zlibReaders.Get().(io.ReadCloser); ok && z.(zlib.Resetter).Reset(br, nil) == nil {
		zr = z
	} else if zr, err = zlib.NewReader(br); err != nil {
		return 0, fmt.Errorf("read object %s: %w", h, err)
	}
	defer zlibReaders.Put(zr)
	// "<type> <size>\x00": 32 bytes hold any header git writes.
	var buf [32]byte
	n, err := io.ReadFull(zr, buf[:])
	head := buf[:n]
	if i := bytes.IndexByte(head, 0); i >= 0 {
		head, err = head[:i], nil // an object shorter than buf ends early
	} else if err == nil {
		err = errors.New("header too long")
	}
	_, size, ok := strings.Cut(string(head), " ")
	v, perr := strconv.ParseInt(size, 10, 64)
	if err == nil && (!ok || perr != nil || v < 0) {
		err = errors.New("malformed header")
	}
	if err != nil {
		return 0, fmt.Errorf("read object %s: %w", h, err)
	}
	return v, nil
}

// Tree reads the root tree of a commit.
func (r *Repo) Tree(commit plumbing.Hash) (*object.Tree, error) {
	c, err := r.ReadCommit(commit)
	if err != nil {
		return nil, err
	}
	t, err := object.GetTree(objectStore{r}, c.TreeHash)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", c.TreeHash, notFound(err))
	}
	return t, nil
}

// ReadPath reads the file at path ("a/b/run.toml") in a commit's tree. The
// error wraps errNotFound when the commit has no such file.
func (r *Repo) ReadPath(commit plumbing.Hash, path string) ([]byte, error) {
	return r.readPathMax(commit, path, -1)
}

// readPathMax is ReadPath for a file of at most max bytes (any size when
// max < 0); a bigger one is an error, found before reading it.
func (r *Repo) readPathMax(commit plumbing.Hash, path string, max int64) ([]byte, error) {
	t, err := r.Tree(commit)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(path, "/")
	for i, name := range parts {
		if name == "" {
			return nil, fmt.Errorf("read %s: invalid path", path)
		}
		e := findEntry(t, name)
		if e == nil {
			return nil, fmt.Errorf("read %s in %s: %w", path, commit, errNoPath)
		}
		last := i == len(parts)-1
		switch {
		case last && e.Mode == filemode.Symlink:
			// Run files are regular blobs; a link's target is not their text.
			return nil, fmt.Errorf("read %s in %s: a symbolic link, not a file", path, commit)
		case last && e.Mode.IsFile():
			b, err := r.readBlobMax(e.Hash, max)
			if err != nil {
				return nil, fmt.Errorf("read %s in %s: %w", path, commit, err)
			}
			return b, nil
		case last:
			return nil, fmt.Errorf("read %s in %s: not a file", path, commit)
		case e.Mode != filemode.Dir:
			return nil, fmt.Errorf("read %s in %s: %w", path, commit, errNoPath)
		}
		t, err = object.GetTree(objectStore{r}, e.Hash)
		if err != nil {
			return nil, fmt.Errorf("read %s in %s: %w", path, commit, notFound(err))
		}
	}
	return nil, fmt.Errorf("read %s: invalid path", path)
}

// findEntry looks name up in a tree's sorted entries. A directory sorts as
// name+"/", so the search probes both spellings.
func findEntry(t *object.Tree, name string) *object.TreeEntry {
	for _, key := range [2]string{name, name + "/"} {
		i, _ := slices.BinarySearchFunc(t.Entries, key, func(e object.TreeEntry, k string) int {
			n := e.Name
			if e.Mode == filemode.Dir {
				n += "/"
			}
			return strings.Compare(n, k)
		})
		if i < len(t.Entries) && t.Entries[i].Name == name {
			return &t.Entries[i]
		}
	}
	return nil
}

// notFound turns go-git's not-found error into ours.
func notFound(err error) error {
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return errNotFound
	}
	return err
}

// objectStore gives go-git's object decoders (and the commits and trees
// they return, which read further objects lazily) access to the repository
// through the lock and retry of withStorage. Writing through it is not
// needed and not supported.
type objectStore struct{ r *Repo }

var errUnsupported = errors.New("not supported by gitstore")

func (s objectStore) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

func (s objectStore) SetEncodedObject(plumbing.EncodedObject) (plumbing.Hash, error) {
	return plumbing.ZeroHash, errUnsupported
}

func (s objectStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if s.r.bigPacks() {
		ot, _, data, err := s.r.catObject(h, -1)
		if err == nil {
			if t != plumbing.AnyObject && ot != t {
				return nil, plumbing.ErrObjectNotFound
			}
			o := &plumbing.MemoryObject{}
			o.SetType(ot)
			o.Write(data)
			return o, nil
		}
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, err
		}
	}
	var o plumbing.EncodedObject
	err := s.r.withStorage(func(st *filesystem.Storage) error {
		var err error
		o, err = st.EncodedObject(t, h)
		return err
	})
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		// go-git's callers test for this exact value.
		return nil, plumbing.ErrObjectNotFound
	}
	return o, err
}

func (s objectStore) IterEncodedObjects(plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	return nil, errUnsupported
}

func (s objectStore) HasEncodedObject(h plumbing.Hash) error {
	if s.r.HasObject(h) {
		return nil
	}
	return plumbing.ErrObjectNotFound
}

func (s objectStore) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	var n int64
	err := s.r.withStorage(func(st *filesystem.Storage) error {
		var err error
		n, err = st.EncodedObjectSize(h)
		return err
	})
	return n, err
}

func (s objectStore) AddAlternate(string) error { return errUnsupported }
