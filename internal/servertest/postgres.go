package servertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// Postgres is a PostgreSQL cluster of the test's own, made by initdb in a
// temporary directory and served on a free port of 127.0.0.1, which the
// test stops and starts again to see how the service rides out a database
// restart. Its one user, postgres, needs no password.
type Postgres struct {
	t      testing.TB
	bin    string // the directory of initdb and pg_ctl
	dir    string // holds the cluster, its socket and its log
	port   int
	runAs  string // the user that runs the server ("" for this process's)
	uid    int
	gid    int
	online bool
}

// StartPostgres makes a cluster and starts it, skipping the test when the
// PostgreSQL server programs are not installed. PostgreSQL refuses to run
// as root, so under root the cluster belongs to, and runs as, the postgres
// user. It is stopped and removed when the test ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		t.Skip("initdb not found (on PATH or in /usr/lib/postgresql/*/bin): skipping the test that restarts PostgreSQL")
	}
	p := &Postgres{t: t, bin: bin, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root without a postgres user to run PostgreSQL as: skipping the test that restarts PostgreSQL")
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Skip("running as root without runuser: skipping the test that restarts PostgreSQL")
		}
		p.runAs = u.Username
		p.uid, _ = strconv.Atoi(u.Uid)
		p.gid, _ = strconv.Atoi(u.Gid)
	}
	// A short path: the server's Unix socket lives in it too.
	dir, err := os.MkdirTemp("", "chat-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if p.runAs != "" {
		if err := os.Chown(dir, p.uid, p.gid); err != nil {
			t.Fatal(err)
		}
	}
	p.dir = dir
	p.port = freePort(t)
	p.run("initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync")
	p.Start()
	t.Cleanup(func() { p.stop("immediate") })
	return p
}

// postgresBin returns the directory of initdb: on PATH, else the newest
// of /usr/lib/postgresql/*/bin; "" when there is none.
func postgresBin() string {
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path)
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(found, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(found[j]))))
		return vi > vj
	})
	if len(found) == 0 {
		return ""
	}
	return filepath.Dir(found[0])
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (p *Postgres) data() string { return filepath.Join(p.dir, "data") }

// URL is the postgres:// URL of the cluster's postgres database.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server (again, on the same port with the same data) and
// waits until it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off", p.port, p.dir)
	p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start")
	p.online = true
}

// Stop shuts the server down (fast: open connections are ended) and waits
// until it is gone.
func (p *Postgres) Stop() {
	p.t.Helper()
	p.stop("fast")
}

func (p *Postgres) stop(mode string) {
	if !p.online {
		return
	}
	p.run("pg_ctl", "-D", p.data(), "-m", mode, "-w", "-t", "60", "stop")
	p.online = false
}

// run runs one of the server's programs as the cluster's user and fails
// the test, with the server's log, when it fails.
func (p *Postgres) run(program string, args ...string) {
	p.t.Helper()
	path := filepath.Join(p.bin, program)
	cmd := exec.Command(path, args...)
	if p.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", p.runAs, "--", path}, args...)...)
	}
	cmd.Dir = p.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		p.t.Fatalf("%s: %v\n%s\n%s", program, err, out, log)
	}
}
