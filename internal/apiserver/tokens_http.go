package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// TokenRequest is the body of POST /kennel/v1/tokens.
type TokenRequest struct {
	Role        Role   `json:"role"`
	Node        string `json:"node,omitempty"`
	Description string `json:"description,omitempty"`
	// TTLSeconds makes the token expire; 0 never expires.
	TTLSeconds int64 `json:"ttlSeconds,omitempty"`
}

// TokenResponse carries a new token's plain text, shown only once.
type TokenResponse struct {
	TokenInfo
	Token string `json:"token"`
}

// serveTokens manages tokens; admins only.
//
//	POST   /kennel/v1/tokens        create
//	GET    /kennel/v1/tokens        list (without secrets)
//	DELETE /kennel/v1/tokens/{id}   revoke
func (s *Server) serveTokens(w http.ResponseWriter, r *http.Request, id *Identity) {
	if id.Role != RoleAdmin {
		writeError(w, v1.NewError(v1.ReasonForbidden, "%s cannot manage tokens: only the admin role may", id.Role))
		return
	}
	tokID := strings.Trim(strings.TrimPrefix(r.URL.Path, "/kennel/v1/tokens"), "/")
	ctx := r.Context()
	switch {
	case r.Method == http.MethodPost && tokID == "":
		var req TokenRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			writeError(w, v1.NewError(v1.ReasonBadRequest, "token request: %v", err))
			return
		}
		if _, err := ParseRole(string(req.Role)); err != nil {
			writeError(w, v1.NewInvalid("TokenRequest", "", v1.FieldErrors{v1.NotSupported("role", string(req.Role), "admin", "viewer", "node", "cluster")}))
			return
		}
		if req.Node != "" && req.Role != RoleNode && req.Role != RoleCluster {
			writeError(w, v1.NewInvalid("TokenRequest", "", v1.FieldErrors{v1.Forbidden("node", "only node and cluster tokens are bound to a node or member cluster")}))
			return
		}
		info := TokenInfo{Role: req.Role, Node: req.Node, Description: req.Description}
		if req.TTLSeconds > 0 {
			info.Expires = time.Now().Add(time.Duration(req.TTLSeconds) * time.Second).UTC()
		}
		tok, stored, err := s.tokens.create(ctx, info)
		if err != nil {
			writeError(w, err)
			return
		}
		stored.SecretHash = ""
		writeJSON(w, http.StatusCreated, TokenResponse{TokenInfo: *stored, Token: tok})
	case r.Method == http.MethodGet && tokID == "":
		list, err := s.tokens.list(ctx)
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": list})
	case r.Method == http.MethodDelete && tokID != "":
		if tokID == id.TokenID {
			writeError(w, v1.NewError(v1.ReasonForbidden, "a token cannot revoke itself"))
			return
		}
		if err := s.tokens.revoke(ctx, tokID); err != nil {
			writeError(w, storeError(err, &requestInfo{Kind: &v1.Kind{Resource: "tokens", Singular: "token"}, Name: tokID}))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "Success"})
	default:
		writeError(w, v1.NewError(v1.ReasonMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
	}
}
