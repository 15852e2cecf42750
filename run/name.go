package run

import (
	"math/rand/v2"
	"strconv"
)

// NewName returns a random human-friendly run name such as "brave-otter-42":
// an adjective, a noun and a number from 1 to 99, which gives close to a
// million names, enough that names rarely repeat within one project while
// staying easy to say and remember. Names are not unique: the id is.
func NewName() string {
	adj := nameAdjectives[rand.IntN(len(nameAdjectives))]
	noun := nameNouns[rand.IntN(len(nameNouns))]
	b := make([]byte, 0, len(adj)+len(noun)+4)
	b = append(b, adj...)
	b = append(b, '-')
	b = append(b, noun...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(1+rand.IntN(99)), 10)
	return string(b)
}

// nameAdjectives are short, friendly and hard to mishear, and none of them is
// also a noun of nameNouns, so every name reads one way.
var nameAdjectives = [...]string{
	"able", "agile", "amber", "ample", "azure", "balmy", "bold", "brave",
	"breezy", "bright", "brisk", "calm", "candid", "cheerful", "cheery",
	"chipper", "civil", "clever", "cosmic", "cozy", "crisp", "curious",
	"dapper", "daring", "deft", "eager", "early", "easy", "epic", "fair",
	"fancy", "fast", "fleet", "fluffy", "frank", "free", "fresh", "gentle",
	"giddy", "glad", "golden", "grand", "happy", "hardy", "hearty", "honest",
	"humble", "jaunty", "jolly", "jovial", "keen", "kind", "lively", "lucid",
	"lucky", "mellow", "merry", "mighty", "modest", "neat", "nimble", "noble",
	"plucky", "polite", "proud", "quick", "quiet", "rapid", "ready", "regal",
	"robust", "rosy", "rustic", "savvy", "serene", "sharp", "shiny", "silent",
	"silver", "sleek", "smart", "snappy", "snug", "solid", "sonic", "spry",
	"steady", "sturdy", "sunny", "super", "swift", "tidy", "trusty", "upbeat",
	"vivid", "warm", "wise", "witty", "zany", "zesty",
}

// nameNouns are animals, birds, trees and minerals.
var nameNouns = [...]string{
	"otter", "badger", "beaver", "bison", "falcon", "heron", "lynx", "marten",
	"moose", "panda", "puffin", "raven", "robin", "salmon", "seal", "sparrow",
	"stork", "swan", "tiger", "walrus", "wombat", "zebra", "koala", "lemur",
	"llama", "magpie", "marmot", "newt", "ocelot", "osprey", "owl", "pelican",
	"penguin", "quail", "rabbit", "squirrel", "starling", "toucan", "turtle",
	"weasel", "wren", "yak", "finch", "gecko", "hare", "ibis", "jaguar",
	"kestrel", "kiwi", "lark", "orca", "crane", "dolphin", "eagle", "ferret",
	"gazelle", "hedgehog", "bobcat", "condor", "meerkat", "plover", "aspen",
	"birch", "cedar", "elm", "fir", "hazel", "larch", "maple", "oak", "pine",
	"rowan", "spruce", "willow", "yew", "alder", "beech", "cypress",
	"juniper", "linden", "poplar", "agate", "basalt", "beryl", "cobalt",
	"copper", "coral", "flint", "garnet", "granite", "jade", "jasper", "onyx",
	"opal", "pearl", "quartz", "topaz", "zircon", "mica", "slate",
}
