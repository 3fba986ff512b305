// Command chat is the command-line client of the chat service: it registers
// an account, logs in and keeps the tokens in the user's config directory,
// and chats interactively (or from a script on stdin) over the WebSocket
// protocol, resuming where it left off after every reconnect.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// defaultURL is the server the client talks to without -url or CHAT_URL.
const defaultURL = "http://localhost:8080"

const usage = `usage:
  chat register -u NAME [-p PASSWORD] [-url URL]   create an account
  chat login -u NAME [-p PASSWORD] [-url URL]      log in and keep the tokens
  chat logout                                      end the session
  chat [-room NAME] [-url URL] [-plain]            chat (the default command)

The password comes from -p, else CHAT_PASSWORD, else a prompt without echo
on a terminal, else the first line of stdin.
The server is -url, else CHAT_URL, else the one logged in to, else ` + defaultURL + `.
Tokens are kept in $CHAT_CONFIG_DIR or the user config directory (chat/session.json).
On a terminal chat opens a full-screen view; with -plain, or when stdin or
stdout is not a terminal, every line is sent to the current room and what
arrives is printed line by line. /help lists the commands.
`

// run parses the command line and carries out one command. args[0] is the
// program name; getenv reads the environment; stdin feeds passwords and chat
// lines; what arrives goes to stdout, status and errors to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	name := "chat"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	cmd := ""
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	env := environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "", "chat":
		return runChat(ctx, name, args, env)
	case "register":
		return runRegister(ctx, name+" register", args, env)
	case "login":
		return runLogin(ctx, name+" login", args, env)
	case "logout":
		return runLogout(ctx, name+" logout", args, env)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// environment is what run hands to every command.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// terminal reports whether stdin and stdout are both terminals.
func (e environment) terminal() bool {
	in, ok1 := e.stdin.(*os.File)
	out, ok2 := e.stdout.(*os.File)
	return ok1 && ok2 && term.IsTerminal(int(in.Fd())) && term.IsTerminal(int(out.Fd()))
}

// newFlagSet returns a flag set that reports errors to stderr and prints
// the usage on -h.
func (e environment) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, usage) }
	return fs
}

// serverURL returns the server to talk to: the flag, else CHAT_URL, else
// fallback (the URL of the stored session), else defaultURL.
func (e environment) serverURL(flagValue, fallback string) string {
	switch {
	case flagValue != "":
		return flagValue
	case e.getenv("CHAT_URL") != "":
		return e.getenv("CHAT_URL")
	case fallback != "":
		return fallback
	default:
		return defaultURL
	}
}
