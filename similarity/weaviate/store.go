package weaviate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Kind is the kind under which an Index is saved in a model directory
// (pmlm.Saver): the saved form is where the index is, not its vectors.
const Kind = "similarity.weaviate/1"

// DefaultGRPCPort is Weaviate's gRPC port, assumed by ParseURL when the
// URL names none.
const DefaultGRPCPort = 50051

// ParseURL reads an index location:
//
//	weaviate://HOST:PORT/COLLECTION[?grpc=PORT][&tenant=NAME]
//
// HOST:PORT is the REST address; the gRPC port defaults to
// DefaultGRPCPort on the same host, the tenant to DefaultTenant. The
// encoder version is not part of a location: the model sets it.
func ParseURL(s string) (Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Config{}, fmt.Errorf("%w: index URL %q: %w", ErrConfig, s, err)
	}
	if u.Scheme != "weaviate" {
		return Config{}, fmt.Errorf("%w: index URL %q: want weaviate://HOST:PORT/COLLECTION", ErrConfig, s)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" || port == "" {
		return Config{}, fmt.Errorf("%w: index URL %q: want HOST:PORT after weaviate://", ErrConfig, s)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("%w: index URL %q: credentials do not belong in the URL", ErrConfig, s)
	}
	cfg := Config{Addr: u.Host, Collection: strings.Trim(u.Path, "/"), Tenant: DefaultTenant}
	grpcPort := strconv.Itoa(DefaultGRPCPort)
	for key, vals := range u.Query() {
		v := vals[len(vals)-1]
		switch key {
		case "grpc":
			if _, err := strconv.ParseUint(v, 10, 16); err != nil {
				return Config{}, fmt.Errorf("%w: index URL %q: grpc=%q is not a port", ErrConfig, s, v)
			}
			grpcPort = v
		case "tenant":
			cfg.Tenant = v
		default:
			return Config{}, fmt.Errorf("%w: index URL %q: unknown parameter %q (want grpc, tenant)", ErrConfig, s, key)
		}
	}
	cfg.GRPCAddr = net.JoinHostPort(host, grpcPort)
	if !collectionName.MatchString(cfg.Collection) {
		return Config{}, fmt.Errorf("%w: index URL %q: collection %q: want a capital letter, then letters, digits and underscores", ErrConfig, s, cfg.Collection)
	}
	if cfg.Tenant == "" {
		return Config{}, fmt.Errorf("%w: index URL %q: empty tenant", ErrConfig, s)
	}
	return cfg, nil
}

// Location is the index's URL in the form ParseURL reads.
func (ix *Index) Location() string {
	c := ix.cfg
	_, grpcPort, _ := net.SplitHostPort(c.GRPCAddr)
	return fmt.Sprintf("weaviate://%s/%s?grpc=%s&tenant=%s", c.Addr, c.Collection, grpcPort, url.QueryEscape(c.Tenant))
}

// EncoderVersion is the version of the encoder whose vectors the index
// answers with.
func (ix *Index) EncoderVersion() string { return ix.cfg.EncoderVersion }

// saved is the saved form of an Index.
type saved struct {
	Format         string `json:"format"`
	Location       string `json:"location"`
	EncoderVersion string `json:"encoder_version"`
}

const savedFormat = "pmlm-weaviate-index/1"

// Kind implements pmlm.Saver.
func (ix *Index) Kind() string { return Kind }

// Save writes where the index is and its encoder version (no vectors, no
// secrets); Load reads it back.
func (ix *Index) Save(w io.Writer) error {
	return json.NewEncoder(w).Encode(saved{Format: savedFormat, Location: ix.Location(), EncoderVersion: ix.cfg.EncoderVersion})
}

// Load reads an index saved by Save and opens it. A non-empty location (a
// URL for ParseURL) replaces the saved server address, for a server that
// moved; it must name the same collection and tenant. The index must hold
// vectors of the saved encoder version: otherwise it was filled by another
// model, and Load refuses it.
func Load(ctx context.Context, r io.Reader, location string) (*Index, error) {
	var s saved
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: saved index: %w", ErrConfig, err)
	}
	if s.Format != savedFormat {
		return nil, fmt.Errorf("%w: saved index format %q, want %q", ErrConfig, s.Format, savedFormat)
	}
	cfg, err := ParseURL(s.Location)
	if err != nil {
		return nil, err
	}
	if location != "" {
		given, err := ParseURL(location)
		if err != nil {
			return nil, err
		}
		if given.Collection != cfg.Collection || given.Tenant != cfg.Tenant {
			return nil, fmt.Errorf("%w: the model was built against collection %s, tenant %s; %s names collection %s, tenant %s",
				ErrConfig, cfg.Collection, cfg.Tenant, location, given.Collection, given.Tenant)
		}
		cfg.Addr, cfg.GRPCAddr = given.Addr, given.GRPCAddr
	}
	cfg.EncoderVersion = s.EncoderVersion
	ix, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	n, err := ix.Len(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: %s holds no vectors of encoder version %s: it was not built by this model (or was emptied)",
			ErrConfig, ix.Location(), s.EncoderVersion)
	}
	return ix, nil
}
