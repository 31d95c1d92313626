package command

import "github.com/offerflow/offerflow/domain"

// Stream names. The part before the first '-' is the stream's category; ids
// never contain the category, so names cannot collide.
func resellerStream(id domain.ResellerID) string { return "reseller-" + string(id) }
func productStream(id domain.ProductID) string   { return "product-" + string(id) }
func customerStream(id domain.CustomerID) string { return "customer-" + string(id) }
func templateStream(id domain.TemplateID) string { return "template-" + string(id) }

// OfferStream returns the name of an offer's stream.
func OfferStream(id domain.OfferID) string { return "offer-" + string(id) }

func grantStream(id domain.OfferID) string { return "grant-" + string(id) }
func tokenStream(id string) string         { return "token-" + id }
