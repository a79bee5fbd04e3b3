// Package client is Kennel's Go client: typed REST calls for every kind,
// watches, an informer cache that relists after 410 Gone and never loses an
// update, and the client configuration file with named contexts.
//
//	c, _ := client.New(client.Config{Server: url, CAData: ca, Token: tok})
//	pods := client.For[*v1.Pod](c, "default")
//	p, err := pods.Get(ctx, "db-0")
package client
