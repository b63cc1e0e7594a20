#!/usr/bin/perl
# amount_fuzz.pl: inputs for the billing.amount fuzz test (test/scripts/fuzz_amount.sh).
#
#   amount_fuzz.pl text SEED COUNT
#       prints COUNT text inputs, one per line, escaped for COPY's text
#       format: valid literals mutated 1 to 4 times (bytes flipped,
#       inserted, deleted, duplicated, digits runs grown, signs, points and
#       spaces added) and strings of random bytes (any byte but NUL).
#
#   amount_fuzz.pl binary SEED COUNT DIR CURRENCIES
#       writes DIR/N.copy for N in 1..COUNT: a COPY binary file of one row
#       (int4 case number, one field of fuzzed bytes for billing.amount),
#       and prints, for each case that must be accepted, "N<TAB>text form".
#       CURRENCIES lists "numeric_code<TAB>alphabetic_code<TAB>minor_unit"
#       lines (from billing.currency): a payload is valid exactly when it
#       is 10 bytes, its count is not -2^63 and its code is listed.
use strict;
use warnings;

my ($mode, $seed, $count, $dir, $currency_file) = @ARGV;
die "usage: amount_fuzz.pl text|binary SEED COUNT [DIR CURRENCIES]\n"
  unless defined $count;
srand($seed);

my @seeds = ('1234.56 USD', '-0.50 USD', '7 JPY', '-12 JPY', '1.234 BHD',
	'0.0001 CLF', '0.00 EUR', '92233720368547758.07 USD',
	'-92233720368547758.07 USD', '9223372036854775807 JPY',
	'922337203685477.5807 CLF', '1 KWD', '10.5 GBP');
my @specials = ('-', '.', ' ', '0', '9', '+', ',', 'e', "\t", 'A', 'Z', 'a',
	"\x{7f}", "\x{c3}\x{a9}", "\x{ef}\x{bc}\x{91}", "\x{ff}", "\\", '"', "'");

sub random_byte { return chr(1 + int(rand(255))); }

sub mutate
{
	my ($s) = @_;
	my $kind = int(rand(9));
	my $pos = length($s) ? int(rand(length($s) + 1)) : 0;
	if ($kind == 0 && length($s))
	{    # flip a bit of one byte, never making a NUL
		my $i = int(rand(length($s)));
		my $c = ord(substr($s, $i, 1)) ^ (1 << int(rand(8)));
		$c = 1 if $c == 0;
		substr($s, $i, 1) = chr($c);
	}
	elsif ($kind == 1) { substr($s, $pos, 0) = random_byte(); }
	elsif ($kind == 2 && length($s)) { substr($s, int(rand(length($s))), 1) = ''; }
	elsif ($kind == 3 && length($s))
	{    # duplicate a slice
		my $i = int(rand(length($s)));
		my $n = 1 + int(rand(length($s) - $i));
		substr($s, $pos, 0) = substr($s, $i, $n);
	}
	elsif ($kind == 4) { substr($s, $pos, 0) = '9' x (1 + int(rand(30))); }
	elsif ($kind == 5) { substr($s, $pos, 0) = $specials[int(rand(@specials))]; }
	elsif ($kind == 6 && length($s)) { $s = substr($s, 0, int(rand(length($s)))); }
	elsif ($kind == 7)
	{    # replace a digit by another
		my @digits;
		while ($s =~ /[0-9]/g) { push @digits, pos($s) - 1; }
		substr($s, $digits[int(rand(@digits))], 1) = int(rand(10)) if @digits;
	}
	else
	{    # change the currency code
		my @codes = ('USD', 'JPY', 'BHD', 'CLF', 'XYZ', 'usd', 'US', 'USDD', 'XAU', 'EUR');
		$s =~ s/[A-Za-z]{2,4}$/$codes[int(rand(@codes))]/;
	}
	return $s;
}

sub copy_escape
{
	my ($s) = @_;
	$s =~ s/\\/\\\\/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/\r/\\r/g;
	$s =~ s/\t/\\t/g;
	return $s;
}

if ($mode eq 'text')
{
	binmode(STDOUT);
	for my $n (1 .. $count)
	{
		my $s;
		if (rand() < 0.15)
		{
			$s = join('', map { random_byte() } 1 .. int(rand(40)));
		}
		else
		{
			$s = $seeds[int(rand(@seeds))];
			$s = mutate($s) for 1 .. 1 + int(rand(4));
		}
		print copy_escape($s), "\n";
	}
	exit 0;
}

die "unknown mode $mode\n" unless $mode eq 'binary';

my %currency;
open(my $cf, '<', $currency_file) or die "$currency_file: $!\n";
while (<$cf>)
{
	chomp;
	my ($numeric, $alpha, $minor) = split /\t/;
	$currency{$numeric} = [ $alpha, $minor ];
}
close($cf);
my @known = sort { $a <=> $b } keys %currency;

# Text form of a valid payload, as billing.amount_out writes it.
sub expected_text
{
	my ($units, $code) = @_;
	my ($alpha, $minor) = @{ $currency{$code} };
	my $sign = $units < 0 ? '-' : '';
	my $digits = $units < 0 ? substr("$units", 1) : "$units";
	return "$sign$digits $alpha" if $minor == 0;
	$digits = ('0' x ($minor + 1 - length($digits))) . $digits
	  if length($digits) <= $minor;
	return $sign . substr($digits, 0, length($digits) - $minor) . '.'
	  . substr($digits, length($digits) - $minor) . " $alpha";
}

sub random_units
{
	my $r = rand();
	return -9223372036854775807 - 1 if $r < 0.05;
	return 9223372036854775807 if $r < 0.1;
	return -9223372036854775807 if $r < 0.15;
	my $magnitude = int(rand(10**int(rand(18))));
	return rand() < 0.5 ? -$magnitude : $magnitude;
}

for my $n (1 .. $count)
{
	my $units = random_units();
	my $code = rand() < 0.7 ? $known[int(rand(@known))] : int(rand(65536));
	my $payload = pack('q>n', $units, $code);
	my $r = rand();
	if ($r < 0.25)
	{    # flip bits
		for (1 .. 1 + int(rand(3)))
		{
			my $i = int(rand(10));
			substr($payload, $i, 1) = chr(ord(substr($payload, $i, 1)) ^ (1 << int(rand(8))));
		}
	}
	elsif ($r < 0.4) { $payload = substr($payload, 0, int(rand(10))); }
	elsif ($r < 0.5) { $payload .= join('', map { chr(int(rand(256))) } 1 .. 1 + int(rand(10))); }
	elsif ($r < 0.6) { $payload = join('', map { chr(int(rand(256))) } 1 .. int(rand(33))); }

	my $valid = 0;
	if (length($payload) == 10)
	{
		my ($u, $c) = unpack('q>n', $payload);
		$c -= 65536 if $c >= 32768;
		if ($u != -9223372036854775807 - 1 && $c > 0 && exists $currency{$c})
		{
			$valid = 1;
			print "$n\t", expected_text($u, $c), "\n";
		}
	}

	open(my $f, '>', "$dir/$n.copy") or die "$dir/$n.copy: $!\n";
	binmode($f);
	print $f "PGCOPY\n\xff\r\n\0", pack('NN', 0, 0);
	print $f pack('n', 2), pack('N', 4), pack('N', $n);
	print $f pack('N', length($payload)), $payload;
	print $f pack('n', 0xffff);
	close($f);
}
